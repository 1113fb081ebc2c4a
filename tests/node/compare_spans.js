#!/usr/bin/env node
// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Do two outputs of one agent run carry the same spans? A = the agent's OTLP/JSON-lines
// file, B = what otlp_receiver.js decoded from its OTLP/HTTP export. Compares, per span
// id: trace id, parent, name, kind, times, status, attributes, and the resource's
// attributes. Prints "key value" lines; exit 1 on any difference.
//
//   node compare_spans.js FILE.jsonl RECEIVER.jsonl
'use strict';

const fs = require('fs');

function collect(reqs) {
  const m = new Map();
  for (const req of reqs) {
    for (const rs of req.resourceSpans || []) {
      const res = attrs((rs.resource || {}).attributes);
      for (const ss of rs.scopeSpans || []) {
        for (const sp of ss.spans || []) {
          m.set(sp.spanId, {
            traceId: sp.traceId,
            parentSpanId: sp.parentSpanId || '',
            name: sp.name,
            kind: Number(sp.kind || 0),
            start: String(sp.startTimeUnixNano),
            end: String(sp.endTimeUnixNano),
            status: Number((sp.status || {}).code || 0),
            statusMessage: (sp.status || {}).message || '',
            attributes: attrs(sp.attributes),
            resource: res,
            scope: `${(ss.scope || {}).name}/${(ss.scope || {}).version}`,
          });
        }
      }
    }
  }
  return m;
}

function value(v) {
  if (!v) return null;
  if ('stringValue' in v) return `s:${v.stringValue}`;
  if ('intValue' in v) return `i:${String(v.intValue)}`;
  if ('boolValue' in v) return `b:${v.boolValue}`;
  if ('doubleValue' in v) return `d:${Number(v.doubleValue)}`;
  return JSON.stringify(v);
}

function attrs(list) {
  const o = {};
  for (const kv of list || []) o[kv.key] = value(kv.value);
  return JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
}

const [fileA, fileB] = process.argv.slice(2);
const read = (f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const a = collect(read(fileA));
const recv = read(fileB);
const errors = recv.filter((r) => r.error).length;
const b = collect(recv.filter((r) => r.accepted).map((r) => r.request));
const problems = [];
for (const [id, sa] of a) {
  const sb = b.get(id);
  if (!sb) { problems.push(`span ${id} (${sa.name}) is in the file but was not exported`); continue; }
  for (const k of Object.keys(sa)) {
    if (sa[k] !== sb[k]) problems.push(`span ${id} ${k}: file ${sa[k]} / exported ${sb[k]}`);
  }
}
for (const id of b.keys()) if (!a.has(id)) problems.push(`span ${id} was exported but is not in the file`);
console.log(`file_spans ${a.size}\nexported_spans ${b.size}\ndecode_errors ${errors}\ndifferences ${problems.length}`);
if (problems.length || errors) {
  console.error(problems.slice(0, 20).join('\n'));
  process.exit(1);
}
