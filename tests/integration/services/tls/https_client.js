// HTTPS client of test_tls_agent.sh: Node.js (OpenSSL linked into the node binary,
// memory BIO), certificate not verified.
//   node https_client.js PORT TAG...
// First a plain TCP connect and close to the port (the agent discovers the node binary
// at the process's first record, and attaches its TLS uprobes), then a pause; then
// GET /t/<TAG> for every TAG in turn, each on a new connection through one https.Agent
// without keep-alive: the first connection makes a full handshake, the later ones
// resume its session (TLS 1.2: the client writes ChangeCipherSpec, Finished and the
// request in one write). Every answer must be 200 and name the path, and at least one
// connection must have resumed a session, else exit 1 (the workload is wrong, not the
// agent).
'use strict';
const https = require('https');
const net = require('net');

const [port, ...tags] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: false, rejectUnauthorized: false });
let reused = 0;

function get(tag) {
  return new Promise((resolve, reject) => {
    const path = '/t/' + tag;
    const req = https.request({ host: '127.0.0.1', port: Number(port), path, agent }, (res) => {
      const chunks = [];
      if (res.socket.isSessionReused()) reused++;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200 || !body.includes(path))
          reject(new Error(`${path}: got ${res.statusCode} ${body.slice(0, 80)}`));
        else
          resolve();
      });
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  await new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1', () => { s.end(); resolve(); });
    s.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 1500));
  for (const tag of tags)
    await get(tag);
  if (tags.length > 1 && !reused)
    throw new Error('no connection resumed a TLS session');
  console.log(`https_client.js: ${tags.length} requests, ${reused} on resumed sessions`);
}

main().catch((e) => { console.error(`https_client.js: ${e.message}`); process.exit(1); });
