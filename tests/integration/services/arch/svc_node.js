// Architectures "node", "node_capped" and "node_fanout": a Node.js http server (one
// event loop) that calls the backend with http.request.
//   node svc_node.js MODE PORT_FILE BACKEND_HOST:PORT
//   MODE default: the global agent (keep-alive in Node >= 19, unlimited sockets)
//        capped:  new http.Agent({keepAlive: true, maxSockets: 4}) - fewer sockets than
//                 requests in flight, so requests queue inside the agent
//        fanout:  three backend requests in parallel (/b/<id>/0..2), answer when all
//                 are done, bodies in that order
//        jitter:  the global agent, and by request id mod 4 the answer is written right
//                 away (0), from setImmediate (1) or from a 0-3 ms timer (2) after the
//                 backend's response, or the backend call is made from a 0-2 ms timer
//                 (3): answers and calls that are not written where the loop read what
//                 caused them (a timer runs after the reads of the loop round it fires
//                 in, which may have read another request)
// GET /r/<id> answers 200 with the backend's body (or bodies).
// With SVC_TLS_DIR set (test_tls_chain.sh) the server is https (key.pem, cert.pem from
// that directory; OpenSSL linked into node) and the backend is called with https
// through a keep-alive agent that does not verify the certificate; SVC_PORT fixes the
// listening port (else the kernel picks one).
'use strict';
const fs = require('fs');
const tlsDir = process.env.SVC_TLS_DIR;
const http = tlsDir ? require('https') : require('http');

const [mode, portFile, backend] = process.argv.slice(2);
const [bhost, bport] = [backend.slice(0, backend.lastIndexOf(':')), Number(backend.slice(backend.lastIndexOf(':') + 1))];
// SVC_BACKEND_NAME: call the backend by this name (say localhost), looked up per new
// connection by dns.lookup in libuv's thread pool, whose completion the loop reads from
// an eventfd before it connects.
const bname = process.env.SVC_BACKEND_NAME || bhost;
const agent = mode === 'capped' ? new http.Agent({ keepAlive: true, maxSockets: 4 })
  : tlsDir ? new http.Agent({ keepAlive: true, rejectUnauthorized: false }) : http.globalAgent;

function get(path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: bname, family: 4, port: bport, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const handler = async (req, res) => {
  const m = /^\/r\/([0-9]+)$/.exec(req.url);
  if (!m) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end('svc: bad path\n');
    return;
  }
  const k = Number(m[1]) % 4;
  const later = (fn) => setTimeout(fn, Math.floor(Math.random() * 4));
  try {
    if (mode === 'jitter' && k === 3)
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
    const paths = mode === 'fanout' ? [0, 1, 2].map((k) => `/b/${m[1]}/${k}`) : [`/b/${m[1]}`];
    const answers = await Promise.all(paths.map(get));
    if (mode === 'jitter' && k === 1)
      await new Promise((r) => setImmediate(r));
    else if (mode === 'jitter' && k === 2)
      await new Promise((r) => later(r));
    const bad = answers.find((a) => a.status !== 200);
    const body = Buffer.concat(answers.map((a) => a.body));
    res.writeHead(bad ? bad.status : 200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  } catch (e) {
    res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`svc: backend failed: ${e.message}\n`);
  }
};
const server = tlsDir
  ? http.createServer({ key: fs.readFileSync(tlsDir + '/key.pem'), cert: fs.readFileSync(tlsDir + '/cert.pem') }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.SVC_PORT || 0), '127.0.0.1', 511, () => {
  fs.writeFileSync(portFile + '.tmp', `${server.address().port}\n`);
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
