#!/usr/bin/env node
// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Reads what otlp_receiver.js decoded (its --out file) and reports, as "key value"
// lines, what arrived: requests, accepted requests, spans delivered (unique indices of
// the harness' synthetic spans in accepted requests), duplicates, decode errors,
// connections, and timings. With --verify it also compares every delivered span, its
// resource and scope field by field with span i as tests/integration/otlp_harness.c
// defines it (computed again here, independently), and exits 1 on any difference.
//
//   node check_wire.js --out FILE [--verify] [--first I --count N] [--resources R]
//        [--version V] [--content-type T] [--content-encoding E] [--header k=v]
//        [--list-missing]
'use strict';

const fs = require('fs');

const a = { first: 0, count: 0, resources: 3, verify: false, headers: [] };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  const v = process.argv[i + 1];
  switch (k) {
    case '--out': a.out = v; i++; break;
    case '--verify': a.verify = true; break;
    case '--first': a.first = Number(v); i++; break;
    case '--count': a.count = Number(v); i++; break;
    case '--resources': a.resources = Number(v); i++; break;
    case '--version': a.version = v; i++; break;
    case '--content-type': a.contentType = v; i++; break;
    case '--content-encoding': a.contentEncoding = v; i++; break;
    case '--header': a.headers.push(v); i++; break;
    case '--list-missing': a.listMissing = true; break;
    default: console.error(`check_wire: unknown argument ${k}`); process.exit(2);
  }
}

const hex16 = (b) => b.toString(16).padStart(16, '0');
const U64 = (1n << 64n) - 1n;
const traceId = (i) => hex16(0x5753000000000000n | i) + hex16((0xfedcba9876543210n ^ i) & U64);
const spanId = (i) => hex16(0x1000000000000000n + i);
const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: String(v) } });

// Span i, as otlp_harness.c make_span() builds it, in the receiver's normalized form.
function expectedSpan(n) {
  const i = BigInt(n);
  const start = 1700000000000000000n + i * 1000000n;
  const s = { traceId: traceId(i), spanId: spanId(i) };
  let flags = (n % 2) | 0x100;
  if (n % 3 !== 0) {
    s.parentSpanId = hex16(0x2000000000000000n + i);
    if (n % 3 === 2) flags |= 0x200;
  }
  s.name = `GET /items/${n % 7}`;
  s.kind = 1 + (n % 5);
  s.startTimeUnixNano = String(start);
  s.endTimeUnixNano = String(start + 1000n + i);
  s.attributes = [
    str('http.request.method', 'GET'),
    int('http.response.status_code', 200 + (n % 5)),
    int('ws.test.index', n),
    { key: 'ws.test.even', value: { boolValue: n % 2 === 0 } },
    { key: 'ws.test.ratio', value: { doubleValue: n / 4 } },
    str('ws.test.utf8', 'h\u00e9llo \u2713'),
    int('ws.test.neg', -n - 1),
    int('ws.test.big', 9223372036854775807n - i),
  ];
  if (n % 5 === 0) {
    s.events = [{ timeUnixNano: String(start + 10n), name: 'ws.test.event', attributes: [int('ev.n', n), str('ev.s', 'x')] }];
  }
  if (n % 6 === 0) {
    s.links = [{ traceId: traceId(i + 1n), spanId: spanId(i + 1n), attributes: [int('link.n', n)], flags: 0x301 }];
  }
  if (n % 4 === 1) s.status = { code: 2, message: `boom ${n}` };
  else if (n % 4 === 2) s.status = { code: 1 };
  s.flags = flags;
  return s;
}

function expectedResource(pid) {
  return { attributes: [str('service.name', `svc-${pid}`), int('process.pid', pid), str('host.name', 'harness')] };
}

function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const r = {};
    for (const k of Object.keys(v).sort()) r[k] = canon(v[k]);
    return r;
  }
  return v;
}
const same = (x, y) => JSON.stringify(canon(x)) === JSON.stringify(canon(y));

const lines = fs.existsSync(a.out) ? fs.readFileSync(a.out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const problems = [];
const problem = (m) => { if (problems.length < 20) problems.push(m); };
const delivered = new Map();      // index -> times delivered in accepted requests
const answers = {};
const conns = new Set();
let errors = 0;
let acceptedReqs = 0;
let spansInRefused = 0;

for (const r of lines) {
  answers[r.answer] = (answers[r.answer] || 0) + 1;
  conns.add(r.conn);
  if (r.error) { errors++; problem(`request ${r.seq}: ${r.error}`); continue; }
  if (a.contentType && r.contentType !== a.contentType) problem(`request ${r.seq}: Content-Type ${r.contentType}, want ${a.contentType}`);
  if (a.contentEncoding !== undefined && r.contentEncoding !== a.contentEncoding) problem(`request ${r.seq}: Content-Encoding "${r.contentEncoding}", want "${a.contentEncoding}"`);
  if (r.path !== '/v1/traces') problem(`request ${r.seq}: path ${r.path}`);
  for (const h of a.headers) {
    const [k, v] = h.split('=');
    if (r.headers[k] !== v) problem(`request ${r.seq}: header ${k}=${JSON.stringify(r.headers[k])}, want ${JSON.stringify(v)}`);
  }
  if (!r.accepted) { spansInRefused += r.spans || 0; continue; }
  acceptedReqs++;
  for (const rs of r.request.resourceSpans || []) {
    const pidAttr = ((rs.resource || {}).attributes || []).find((x) => x.key === 'process.pid');
    const pid = pidAttr ? Number(pidAttr.value.intValue) : -1;
    if (a.verify && !same(rs.resource, expectedResource(pid))) problem(`request ${r.seq}: resource ${JSON.stringify(rs.resource)}`);
    for (const ss of rs.scopeSpans || []) {
      if (a.verify && !same(ss.scope, { name: 'wirespan', version: a.version })) problem(`request ${r.seq}: scope ${JSON.stringify(ss.scope)}`);
      for (const sp of ss.spans || []) {
        const idx = Number(BigInt('0x' + sp.spanId) - 0x1000000000000000n);
        delivered.set(idx, (delivered.get(idx) || 0) + 1);
        if (!a.verify) continue;
        if (pid !== 1000 + (idx % a.resources)) problem(`span ${idx} under the resource of pid ${pid}`);
        const want = expectedSpan(idx);
        if (!same(sp, want)) problem(`span ${idx}:\n  got  ${JSON.stringify(canon(sp))}\n  want ${JSON.stringify(canon(want))}`);
      }
    }
  }
}

let dups = 0;
let missing = 0;
const missingList = [];
for (const [, c] of delivered) if (c > 1) dups += c - 1;
for (let i = a.first; i < a.first + a.count; i++) {
  if (!delivered.has(i)) { missing++; if (missingList.length < 50) missingList.push(i); }
}
for (const idx of delivered.keys()) if (a.count && (idx < a.first || idx >= a.first + a.count)) problem(`span ${idx} outside the emitted range`);
if (a.verify && missing) problem(`${missing} spans never delivered, e.g. ${missingList.slice(0, 10).join(',')}`);
if (a.verify && dups) problem(`${dups} duplicate deliveries`);

const out = [];
out.push(`requests ${lines.length}`);
out.push(`accepted_requests ${acceptedReqs}`);
out.push(`delivered ${delivered.size}`);
out.push(`duplicates ${dups}`);
out.push(`missing ${missing}`);
out.push(`decode_errors ${errors}`);
out.push(`connections ${conns.size}`);
out.push(`spans_in_refused_requests ${spansInRefused}`);
for (const [k, v] of Object.entries(answers)) out.push(`answered_${k} ${v}`);
// time from each refused answer to the next request (retry wait as the receiver saw it)
const gaps = [];
for (let i = 0; i + 1 < lines.length; i++) if (!lines[i].accepted && lines[i].tAnswer !== undefined) gaps.push(lines[i + 1].t - lines[i].tAnswer);
out.push(`min_retry_gap_ms ${gaps.length ? Math.min(...gaps) : -1}`);
if (a.listMissing) out.push(`missing_list ${missingList.join(',')}`);
console.log(out.join('\n'));
if (problems.length) {
  console.error('check_wire: problems:\n' + problems.join('\n'));
  process.exit(1);
}
