'use strict';
// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A Node.js HTTP service (or client) instrumented with the OpenTelemetry SDK the way its
// documentation shows it (NodeTracerProvider + HttpInstrumentation + OTLP/HTTP protobuf
// export), for tests/integration/test_sdk_coexist.sh. Packages: bench/node (npm ci).
//   server: node sdk_service.js server PORT_FILE NAME OTLP_URL [DOWN_URL]
//     GET /x/<id> -> (GET DOWN_URL/x/<id>, its body) -> 200 "<NAME>:<id>[ <down body>]"
//   client: node sdk_service.js client URL FIRST LAST NAME OTLP_URL -> GET URL/c/<i>, checks bodies
// NO_SDK=1: the same service without the SDK (an uninstrumented event loop).
const [mode, a1, a2, a3, a4, a5] = process.argv.slice(2);
const name = mode === 'server' ? a2 : (a4 || 'sdkclient');
const otlpUrl = mode === 'server' ? a3 : (a5 || process.env.OTLP_URL);
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const sdk = process.env.NO_SDK !== '1';
const provider = sdk ? new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': name }),
  // short delay: the test waits for the export rather than 5 s
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl }), { scheduledDelayMillis: 200 })],
}) : { shutdown: async () => {} };
if (sdk) {
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
}
const http = require('http');
const fs = require('fs');
const agent = new http.Agent({ keepAlive: true });

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    }).on('error', reject);
  });
}

if (mode === 'server') {
  const down = a4;
  const srv = http.createServer(async (req, res) => {
    const id = req.url.split('/').pop();
    let body = `${name}:${id}`;
    try {
      if (down) {
        const r = await get(`${down}/x/${id}`);
        body += ` ${r.body}`;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      res.writeHead(502); res.end(String(e));
    }
  });
  srv.keepAliveTimeout = 30000;
  srv.listen(0, '127.0.0.1', () => fs.writeFileSync(a1, String(srv.address().port)));
  process.on('SIGTERM', async () => { await provider.shutdown(); process.exit(0); });
} else {
  (async () => {
    const first = Number(a2), n = Number(a3);
    let bad = 0;
    for (let i = first; i <= n; i++) {
      const r = await get(`${a1}/c/${i}`);
      if (r.status !== 200 || !r.body.endsWith(`:${i}`)) { bad++; console.error(`bad answer ${i}: ${r.status} ${r.body}`); }
    }
    await provider.shutdown();
    console.log(`client done ${n} bad ${bad}`);
    process.exit(bad ? 1 : 0);
  })();
}
