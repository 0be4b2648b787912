// The Node.js side of `make bench` (callback parsing): JSON.parse alone,
// and JSON.parse plus the checks and flattening b2c.parseDarajaResult and
// b2c.getResultParametersMap do, on the same text, alternated per round.
//
//   node bench/parse.js FIXTURE ITERATIONS ROUNDS
//
// Prints "roundK <seconds per bare parse> <seconds per parse + map>".
'use strict';
const fs = require('fs');

const [fixture, iterArg, roundsArg] = process.argv.slice(2);
const text = fs.readFileSync(fixture, 'utf8');
const iterations = Number(iterArg);
const rounds = Number(roundsArg);

function textValue(v) {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function value(v) {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
}

// {Key, Value} items from a single object or an array of them.
function items(list) {
  const out = [];
  if (list === null || typeof list !== 'object') return out;
  if (!Array.isArray(list) && (list.Key !== undefined || list.Name !== undefined)) list = [list];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (item !== null && typeof item === 'object') {
      const key = item.Key !== undefined ? item.Key : item.Name;
      if (typeof key === 'string') out.push({ Key: key, Value: value(item.Value) });
    }
  }
  return out;
}

function nested(t, outer, inner) {
  const o = t !== null && typeof t === 'object' ? t[outer] : undefined;
  return o !== null && typeof o === 'object' ? o[inner] : undefined;
}

function parse(body) {
  let doc;
  try { doc = JSON.parse(body); } catch (e) { return null; }
  if (doc === null || typeof doc !== 'object') return null;
  const r = doc.Result;
  if (r === null || typeof r !== 'object') return null;
  const ocid = textValue(r.OriginatorConversationID);
  const conversation = textValue(r.ConversationID);
  if (!ocid && !conversation) return null;
  const code = r.ResultCode;
  if (typeof code !== 'number' && (typeof code !== 'string' || code === '')) return null;
  return {
    ok: code === 0 || code === '0',
    ResultCode: code,
    ResultType: value(r.ResultType),
    ResultDesc: textValue(r.ResultDesc),
    OriginatorConversationID: ocid,
    ConversationID: conversation,
    TransactionID: textValue(r.TransactionID),
    parameters: items(nested(r, 'ResultParameters', 'ResultParameter')),
    referenceData: items(nested(r, 'ReferenceData', 'ReferenceItem')),
    raw: doc,
  };
}

function parametersMap(res) {
  const map = {};
  for (const item of res.parameters) {
    if (map[item.Key] === undefined && item.Value !== undefined) map[item.Key] = item.Value;
  }
  return map;
}

const check = parametersMap(parse(text));
if (check.TransactionReceipt !== 'SG632NMUAB' || check.TransactionAmount !== 10) {
  throw new Error('parse.js: unexpected result');
}

function bare() {
  for (let i = 0; i < iterations; i++) {
    if (JSON.parse(text).Result === undefined) throw new Error('bad parse');
  }
}

function ours() {
  for (let i = 0; i < iterations; i++) {
    if (parametersMap(parse(text)).TransactionReceipt === undefined) throw new Error('bad parse');
  }
}

function seconds(fn) {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

bare(); ours(); // warm-up: the JIT compiles both
for (let round = 1; round <= rounds; round++) {
  const b = seconds(bare);
  const o = seconds(ours);
  console.log(`round${round} ${(b / iterations).toFixed(12)} ${(o / iterations).toFixed(12)}`);
}
