// Stands in for the stampede:scenario imports when the SDK is unit-tested in Node:
// records every host call and answers with what a test queued.
export const calls = [];
export const replies = [];
export const envs = new Map();

export function send(req) {
  calls.push(['send', req]);
  const r = replies.shift() ?? { status: 200 };
  if (r.error) {
    const e = new Error('component error');
    e.payload = r.error;
    throw e;
  }
  return {
    status: r.status,
    // As the host answers: headers and body only when asked for, the final URL only
    // after redirects.
    headers: req.read.headers ? (r.headers ?? []) : undefined,
    body: req.read.body ? (r.body ?? new Uint8Array(0)) : undefined,
    bodySize: BigInt(r.bodySize ?? 0),
    finalUrl: r.finalUrl,
    timings: { connectUs: 1000n, tlsUs: 0n, sendUs: 0n, waitUs: 2500n, receiveUs: 0n, totalUs: 4000n },
  };
}
export const check = (name, ok) => calls.push(['check', name, ok]);
export const nowUs = () => 1_500_000n;
export const sleepMs = (ms) => calls.push(['sleep', ms]);
export const counterAdd = (n, v) => calls.push(['counter', n, v]);
export const trendAdd = (n, v) => calls.push(['trend', n, v]);
export const rateAdd = (n, v) => calls.push(['rate', n, v]);
export const gaugeSet = (n, v) => calls.push(['gauge', n, v]);
export const setTags = (tags) => {
  // As the host refuses them (metrics.set-tags).
  if (tags.some(([k]) => k === 'status')) {
    const e = new Error('component error');
    e.payload = 'the tag "status" is the host\'s own (name a request with its name)';
    throw e;
  }
  calls.push(['tags', tags]);
};
export const log = (level, msg) => calls.push(['log', level, msg]);
export const id = () => 7;
export const iteration = () => 3n;
export const env = (k) => envs.get(k);
export const scenario = () => 'default';
export const sendDeferred = (req) => {
  calls.push(['deferred']);
  return send(req);
};
// As the host packs a response (`packed-response`): the head as name\nvalue\n lines,
// the timings as six numbers.
export const sendPacked = (req, deferred) => {
  if (deferred) calls.push(['deferred']);
  const r = send(req);
  const t = r.timings;
  return {
    status: r.status,
    head: r.headers?.map(([k, v]) => `${k}\n${v}\n`).join(''),
    body: r.body,
    bodySize: r.bodySize,
    finalUrl: r.finalUrl,
    timings: [t.connectUs, t.tlsUs, t.sendUs, t.waitUs, t.receiveUs, t.totalUs].map(Number),
  };
};
// A batch as the host answers it: each item's packed response or error, in order.
export const sendBatch = (items, limits) => {
  calls.push(['batch', items.length, limits.parallel, limits.perHost]);
  return items.map((item) => {
    try {
      return { tag: 'ok', val: sendPacked(item.request, item.deferred) };
    } catch (e) {
      if (e && e.payload && typeof e.payload === 'object') return { tag: 'err', val: e.payload };
      throw e;
    }
  });
};
export const settle = (ok, message) => calls.push(['settle', ok, message]);
export const followRedirects = (follow) => calls.push(['follow', follow]);
export const traceContext = (mode) => calls.push(['trace', mode]);
export let setupJson;
export const setupData = () => setupJson;
// The data interface: tables as { columns, rows: [[cell...]], json }, files as bytes,
// shared arrays as the host keeps them (JSON text), the first publisher's.
export const tables = new Map();
export const files = new Map();
export const shared = new Map();
const missing = (file) => {
  const e = new Error('component error');
  e.payload = { tag: 'invalid', val: `${file}: no such file in the data directory` };
  return e;
};
export const table = (file) => {
  const t = tables.get(file);
  if (!t) throw missing(file);
  return { columns: t.columns, rows: BigInt(t.rows.length), json: !!t.json };
};
let cursor = 0;
export const nextRow = (file, order) => {
  calls.push(['next-row', file, order]);
  const t = tables.get(file);
  if (!t) throw missing(file);
  return t.rows[cursor++ % t.rows.length];
};
export const row = (file, index) => tables.get(file).rows[Number(index)];
export const read = (file) => {
  if (!files.has(file)) throw missing(file);
  return files.get(file);
};
export const sharedLen = (name) => shared.get(name)?.length;
export const sharedPublish = (name, items) => {
  calls.push(['publish', name]);
  if (!shared.has(name)) shared.set(name, items);
  return shared.get(name).length;
};
export const sharedGet = (name, i) => shared.get(name)?.[i];
// The VU's cookie jar as the host keeps it: (url, name, value) triples, a URL's cookies
// being those set for it.
export const jar = [];
const jarError = (val) => {
  const e = new Error('component error');
  e.payload = { tag: 'invalid-url', val };
  return e;
};
export const cookiesFor = (url) => jar.filter((c) => c[0] === url).map((c) => [c[1], c[2]]);
export const setCookie = (url, value) => {
  calls.push(['set-cookie', url, value]);
  const eq = value.indexOf('=');
  if (eq < 1) throw jarError(`"${value}" for ${url}: not a cookie`);
  jar.push([url, value.slice(0, eq), value.slice(eq + 1).split(';')[0]]);
};
export const clearCookies = (url, name) => {
  const before = jar.length;
  for (let i = jar.length - 1; i >= 0; i--) {
    if (jar[i][0] === url && (name === undefined || jar[i][1] === name)) jar.splice(i, 1);
  }
  return before - jar.length;
};
