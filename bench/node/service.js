'use strict';
// The Node.js HTTP service of the benchmark, run two ways: plain (wirespan traces it
// from the kernel) or with BENCH_OTEL=1, instrumented in-process with the OpenTelemetry
// SDK (the alternative users would pick), exporting OTLP/HTTP protobuf to BENCH_OTLP_URL.
//
//   GET /small          100-byte body
//   GET /work?us=N      N microseconds of CPU work (busy loop), then a 100-byte body
//
// Usage: node service.js PORT   (prints "listening PORT" when ready; SIGTERM flushes
// the SDK's pending spans, then exits)
if (process.env.BENCH_OTEL === '1') require('./otel');

const http = require('http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node service.js PORT');
  process.exit(2);
}
const body = Buffer.alloc(100, 'x');

function spin(us) {
  const end = process.hrtime.bigint() + BigInt(us) * 1000n;
  let x = 0;
  while (process.hrtime.bigint() < end) x++;
  return x;
}

const server = http.createServer((req, res) => {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (path === '/work') {
    const m = /(?:^|&)us=(\d+)/.exec(q < 0 ? '' : req.url.slice(q + 1));
    const us = m ? Math.min(Number(m[1]), 1000000) : 1000;
    spin(us);
  } else if (path !== '/small') {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));

function stop() {
  server.close();
  server.closeAllConnections();
  const done = () => process.exit(0);
  if (global.__benchOtelShutdown) global.__benchOtelShutdown().then(done, done);
  else done();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
