// Unit tests of the k6 compatibility modules, with the host imports stubbed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as host from './host-stub.js';
import http, { setBatchLimits } from '../src/k6/http.js';
import { check, sleep, group, fail, randomSeed } from '../src/k6/index.js';
import { Counter, Rate } from '../src/k6/metrics.js';
import encoding from '../src/k6/encoding.js';
import { parseDuration } from '../src/k6/duration.js';
import crypto from '../src/k6/crypto.js';
import { SharedArray } from '../src/k6/data.js';
import tracing from '../src/k6/tracing.js';
import { forgetTags } from '../src/k6/tags.js';
import { thresholdsAsWritten } from '../src/k6/runner.js';
import { feeder, readData, DataError } from '../src/data.js';
import * as nodeCrypto from 'node:crypto';

const enc = new TextEncoder();
const text = (b) => new TextDecoder().decode(b);
const sends = () => host.calls.filter((c) => c[0] === 'send').map((c) => c[1]);
const last = () => sends().at(-1);

test('json() parses once while plain values are read, and never shares an object it handed out', () => {
  host.replies.push({ status: 200, body: new TextEncoder().encode('{"items":[{"id":7},{"id":8}],"n":2}') });
  const r = http.get('/items');
  let parses = 0;
  const parse = JSON.parse;
  JSON.parse = (t) => {
    parses++;
    return parse(t);
  };
  try {
    assert.equal(r.json('items.#'), 2);
    assert.equal(r.json('n'), 2);
    assert.equal(parses, 1);
    const items = r.json('items');
    items[0].id = 99;
    assert.equal(r.json('items.0.id'), 7);
    assert.equal(parses, 2);
    const whole = r.json();
    whole.n = 5;
    assert.equal(r.json().n, 2);
    assert.notEqual(r.json(), r.json());
    assert.equal(parses, 5);
  } finally {
    JSON.parse = parse;
  }
});

test('a k6 request: URL, body, params, and the response k6 scripts read', () => {
  host.calls.length = 0;
  host.replies.push({
    status: 201,
    body: enc.encode('{"items":[{"id":7},{"id":8}],"ok":true}'),
    headers: [['content-type', 'application/json'], ['x-multi', 'a'], ['X-Multi', 'b'], ['set-cookie', 'sid=abc; Path=/; HttpOnly']],
  });
  const r = http.post('http://127.0.0.1:9/x', JSON.stringify({ a: 1 }), {
    headers: { 'Content-Type': 'application/json', 'X-None': null },
    tags: { name: 'create' },
    timeout: '1.5s',
    cookies: { pref: 'dark', other: { value: 'v', replace: true } },
  });
  const req = last();
  assert.equal(req.method, 'POST');
  assert.equal(req.name, 'create');
  assert.equal(req.timeoutMs, 1500);
  assert.deepEqual(req.read, { body: true, headers: true });
  assert.equal(text(req.body), '{"a":1}');
  assert.deepEqual(req.headers, [['Content-Type', 'application/json'], ['Cookie', 'pref=dark; other=v']]);
  assert.equal(r.status, 201);
  assert.equal(r.json('items.1.id'), 8);
  assert.equal(r.json('items.#'), 2);
  assert.equal(r.headers['Content-Type'], 'application/json');
  assert.equal(r.headers['X-Multi'], 'a, b');
  assert.equal(r.cookies.sid[0].value, 'abc');
  assert.equal(r.cookies.sid[0].http_only, true);
  assert.equal(r.timings.waiting, 2.5);
  assert.equal(r.timings.connecting, 1);
  assert.equal(r.error_code, 0);
});

test('forms, files, basic auth in the URL, url templates, and no redirects', () => {
  host.calls.length = 0;
  http.post('/f', { a: 'x y', n: 1 });
  assert.equal(text(last().body), 'a=x+y&n=1');
  assert.deepEqual(last().headers, [['Content-Type', 'application/x-www-form-urlencoded']]);
  http.post('/u', { kind: 'full', file: http.file('a,b\n', 'c.csv', 'text/csv') });
  assert.match(last().headers[0][1], /^multipart\/form-data; boundary=/);
  assert.match(text(last().body), /filename="c\.csv"\r\nContent-Type: text\/csv\r\n\r\na,b\n/);
  http.get('http://u%40x:p@127.0.0.1:9/a');
  assert.equal(last().url, 'http://127.0.0.1:9/a');
  assert.deepEqual(last().headers, [['Authorization', `Basic ${encoding.b64encode('u@x:p')}`]]);
  const id = 5;
  http.get(http.url`/items/${id}?x=${'y'}`);
  assert.equal(last().url, '/items/5?x=y');
  assert.equal(last().name, '/items/${}?x=${}');
  http.get('/r', { redirects: 0 });
  assert.deepEqual(host.calls.filter((c) => c[0] === 'follow'), [['follow', false], ['follow', true]]);
  assert.throws(() => http.get('/a', { auth: 'digest' }), /digest.*not supported/);
  assert.throws(() => http.get('/a', { timeout: 'soon' }), /params\.timeout: "soon" is not a duration/);
});

test('response callbacks settle the request; no response gives k6 error codes', () => {
  host.calls.length = 0;
  host.replies.push({ status: 404 });
  http.get('/a', { responseCallback: http.expectedStatuses(404, { min: 200, max: 204 }) });
  assert.deepEqual(host.calls.filter((c) => c[0] === 'settle'), [['settle', true, undefined]]);
  http.setResponseCallback(http.expectedStatuses(201));
  host.replies.push({ status: 200 });
  http.get('/b');
  assert.deepEqual(host.calls.filter((c) => c[0] === 'settle').at(-1), ['settle', false, 'status 200 not expected by the response callback']);
  http.setResponseCallback(null);
  host.replies.push({ status: 500 });
  http.get('/c');
  assert.deepEqual(host.calls.filter((c) => c[0] === 'settle').at(-1), ['settle', true, undefined]);
  http.setResponseCallback(undefined);
  host.calls.length = 0;
  http.get('/c');
  assert.equal(host.calls.filter((c) => c[0] === 'deferred').length, 0);
  for (const [tag, val, code] of [['connect', 'connection refused', 1212], ['timeout', undefined, 1050], ['dns', 'no such host', 1100], ['denied', 'x:80', 1110]]) {
    host.replies.push({ error: { tag, val } });
    const r = http.get('/d');
    assert.equal(r.status, 0);
    assert.equal(r.error_code, code, tag);
    assert.ok(r.error.startsWith(tag), r.error);
    assert.equal(r.body, null);
  }
});

test('batch sends each request in order', () => {
  host.calls.length = 0;
  const [a, b] = http.batch(['/one', ['POST', '/two', 'body']]);
  assert.deepEqual(sends().map((r) => [r.method, r.url]), [['GET', '/one'], ['POST', '/two']]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const named = http.batch({ x: { method: 'GET', url: '/three' } });
  assert.equal(named.x.status, 200);
});

test('check records each named check; sleep, group, fail, metrics', () => {
  host.calls.length = 0;
  const ok = check({ status: 200 }, { 'is 200': (r) => r.status === 200, 'is 201': (r) => r.status === 201, plain: true });
  assert.equal(ok, false);
  assert.deepEqual(host.calls, [['check', 'is 200', true], ['check', 'is 201', false], ['check', 'plain', true]]);
  assert.throws(() => check(1, { boom: () => { throw new Error('inside'); } }), /inside/);
  host.calls.length = 0;
  sleep(0.25);
  assert.equal(group('g', () => 3), 3);
  assert.throws(() => fail('why'), /^Error: why$/);
  new Counter('orders').add(2);
  new Rate('good').add(0);
  assert.deepEqual(host.calls.filter((c) => c[0] !== 'trend'), [['sleep', 250], ['counter', 'orders', 2], ['rate', 'good', false]]);
  assert.throws(() => new Counter('bad name'), /metric name/);
});

test('http.cookieJar(): the VU jar the host keeps, k6\'s methods on it', () => {
  host.calls.length = 0;
  host.jar.length = 0;
  const jar = http.cookieJar();
  assert.equal(http.cookieJar(), jar, 'one jar per VU');
  jar.set('http://h/x', 'sid', 'abc', { path: '/', max_age: 60, secure: true, http_only: true });
  assert.deepEqual(host.calls.at(-1), ['set-cookie', 'http://h/x', 'sid=abc; Path=/; Max-Age=60; Secure; HttpOnly']);
  jar.set('http://h/x', 'theme', 'dark');
  jar.set('http://h/x', 'theme', 'light');
  assert.deepEqual(jar.cookiesForURL('http://h/x'), { sid: ['abc'], theme: ['dark', 'light'] });
  jar.delete('http://h/x', 'theme');
  assert.deepEqual(jar.cookiesForURL('http://h/x'), { sid: ['abc'] });
  jar.clear('http://h/x');
  assert.deepEqual(jar.cookiesForURL('http://h/x'), {});
  // The host's refusal is an Error naming the operation.
  assert.throws(() => jar.set('http://h/x', '', 'v'), /cookie jar set\(""\): "=v" for http:\/\/h\/x: not a cookie/);
  // A jar of one's own is named as unsupported, in the constructor and in params.
  assert.throws(() => new http.CookieJar(), /new http.CookieJar\(\) is not supported by Stampede/);
  assert.throws(() => http.get('/x', { jar: {} }), /params.jar/);
  http.get('/x', { jar });
  assert.equal(last().url, '/x');
});

test('groups name their checks by k6\'s path and record group_duration; tagged metric series', () => {
  host.calls.length = 0;
  const v = group('cart', () => {
    check(1, { 'in cart': () => true });
    group('pay', () => check(1, { 'in pay': () => false }));
    return 5;
  });
  assert.equal(v, 5);
  check(1, { 'top': () => true });
  assert.deepEqual(host.calls.filter((c) => c[0] === 'check'), [
    ['check', '::cart::in cart', true],
    ['check', '::cart::pay::in pay', false],
    ['check', 'top', true],
  ]);
  assert.deepEqual(host.calls.filter((c) => c[0] === 'trend').map((c) => c[1]), [
    'group_duration',
    'group_duration{group:::cart::pay}',
    'group_duration',
    'group_duration{group:::cart}',
  ]);
  // A throw in a group leaves it: the next check is outside.
  assert.throws(() => group('boom', () => { throw new Error('x'); }), /x/);
  check(1, { 'after': () => true });
  assert.deepEqual(host.calls.at(-1), ['check', 'after', true]);
  assert.throws(() => group('a::b', () => 1), /may not contain '::'/);
  host.calls.length = 0;
  new Counter('orders').add(2, { type: 'express', region: 'eu' });
  assert.deepEqual(host.calls, [
    ['counter', 'orders', 2],
    ['counter', 'orders{type:express}', 2],
    ['counter', 'orders{region:eu}', 2],
  ]);
});

test('durations and base64 as k6 has them', () => {
  assert.equal(parseDuration('1m30s', 'd'), 90_000);
  assert.equal(parseDuration('500ms', 'd'), 500);
  assert.equal(parseDuration('1.5h', 'd'), 5_400_000);
  assert.equal(parseDuration(250, 'd'), 250);
  assert.throws(() => parseDuration('10 s', 'options.duration'), /options\.duration/);
  assert.equal(encoding.b64encode('hi there'), 'aGkgdGhlcmU=');
  assert.equal(encoding.b64encode('hi?>', 'rawurl'), 'aGk_Pg');
  assert.equal(encoding.b64decode('aGkgdGhlcmU=', 'std', 's'), 'hi there');
  assert.equal(encoding.b64decode('aGk_Pg', 'rawurl', 's'), 'hi?>');
  assert.equal(new Uint8Array(encoding.b64decode('AAEC')).join(','), '0,1,2');
});

test('k6/crypto: hashes and HMACs equal Node\'s, in every output encoding', () => {
  const data = 'payload ✓ with unicode';
  for (const alg of ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha512-224', 'sha512-256', 'ripemd160']) {
    const k6name = alg.replace('-', '_');
    const want = nodeCrypto.createHash(alg).update(data).digest();
    assert.equal(crypto[k6name](data, 'hex'), want.toString('hex'), alg);
    assert.equal(crypto[k6name](data, 'base64'), want.toString('base64'), alg);
    assert.equal(crypto[k6name](data, 'base64rawurl'), want.toString('base64url'), alg);
    const bin = crypto[k6name](new TextEncoder().encode(data).buffer, 'binary');
    assert.deepEqual(Buffer.from(bin), want, alg);
    const mac = nodeCrypto.createHmac(alg, 'secret').update(data).digest('hex');
    assert.equal(crypto.hmac(k6name, 'secret', data, 'hex'), mac, alg);
    const h = crypto.createHMAC(k6name, 'secret');
    h.update('payload ');
    h.update('✓ with unicode');
    assert.equal(h.digest('hex'), mac, alg);
  }
  const inc = crypto.createHash('sha256');
  inc.update('a');
  inc.update('b');
  assert.equal(inc.digest('hex'), nodeCrypto.createHash('sha256').update('ab').digest('hex'));
  assert.equal(crypto.randomBytes(16).byteLength, 16);
  assert.throws(() => crypto.createHash('whirlpool'), /"whirlpool" is not supported by Stampede/);
  assert.throws(() => crypto.md4('x'), /md4 is not supported/);
  assert.throws(() => crypto.sha256('x', 'latin1'), /output encoding "latin1"/);
});

test('SharedArray: built once, held by the host, read an item at a time, read-only', () => {
  host.calls.length = 0;
  let built = 0;
  const make = () => {
    built++;
    return [{ id: 1 }, { id: 2, tags: ['x'] }, null];
  };
  const a = new SharedArray('items', make);
  const b = new SharedArray('items', make);
  assert.equal(built, 1);
  assert.deepEqual(host.calls.filter((c) => c[0] === 'publish'), [['publish', 'items']]);
  assert.equal(b.length, 3);
  assert.deepEqual(b[1], { id: 2, tags: ['x'] });
  assert.equal(b[2], null);
  assert.equal(b[3], undefined);
  assert.ok(Array.isArray(a) && 1 in a && !(3 in a));
  assert.deepEqual([...a].map((x) => x && x.id), [1, 2, null]);
  assert.deepEqual(a.filter(Boolean).length, 2);
  assert.throws(() => {
    a[0] = 5;
  }, TypeError);
  assert.throws(() => new SharedArray('bad', () => 'no'), /must return an array/);
});

test('feeders give rows keyed by column, JSON cells typed; readData and its errors', () => {
  host.tables.set('users.csv', { columns: ['user', 'pw'], rows: [['a', '1'], ['b', '2']] });
  host.tables.set('p.json', { columns: ['id', 'name'], rows: [['7', '"x"']], json: true });
  const u = feeder('users.csv', 'unique');
  assert.deepEqual(u.next(), { user: 'a', pw: '1' });
  assert.equal(u.length, 2);
  assert.deepEqual(u.columns, ['user', 'pw']);
  assert.deepEqual(u.row(1), { user: 'b', pw: '2' });
  assert.deepEqual(feeder('p.json').next(), { id: 7, name: 'x' });
  assert.throws(() => feeder('users.csv', 'shuffled'), /order must be one of/);
  const e = (() => {
    try {
      feeder('nope.csv').next();
    } catch (err) {
      return err;
    }
  })();
  assert.ok(e instanceof DataError && e.kind === 'invalid' && /nope.csv/.test(e.message));
  host.files.set('a.txt', new TextEncoder().encode('hello'));
  assert.equal(readData('a.txt'), 'hello');
  assert.deepEqual([...readData('a.txt', 'b')], [104, 101, 108, 108, 111]);
});

test('k6/experimental/tracing: instrumentHTTP puts trace context on each request', () => {
  assert.throws(() => tracing.instrumentHTTP({ propagator: 'jaeger' }), /only w3c/);
  assert.throws(() => tracing.instrumentHTTP({ sampling: 2 }), /from 0 to 1/);
  host.calls.length = 0;
  http.get('http://x/before');
  tracing.instrumentHTTP({ propagator: 'w3c' });
  http.get('http://x/after');
  const seen = host.calls.filter((c) => c[0] === 'trace' || c[0] === 'send').map((c) => (c[0] === 'trace' ? c[1] : c[0]));
  assert.deepEqual(seen, ['send', 'sampled', 'send', 'run']);
});

test('requests carry their params.tags and group to the host, sent only when they change', () => {
  forgetTags();
  host.calls.length = 0;
  const tags = () => host.calls.filter((c) => c[0] === 'tags').map((c) => c[1]);
  http.get('http://x/a');
  http.get('http://x/b', { tags: { name: 'b' } });
  assert.deepEqual(tags(), [], 'no tags, no call');
  http.get('http://x/c', { tags: { type: 'API', name: 'c' } });
  http.get('http://x/d', { tags: { type: 'API' } });
  group('shop', () => {
    http.get('http://x/e');
    http.get('http://x/f');
    http.get('http://x/g', { tags: { type: 'static', group: 'mine' } });
  });
  http.get('http://x/h');
  assert.deepEqual(tags(), [
    [['type', 'API']],
    [['group', '::shop']],
    [['type', 'static'], ['group', 'mine']],
    [],
  ]);
  // Each lifecycle call starts with none held: the host dropped them.
  forgetTags();
  http.get('http://x/i', { tags: { type: 'API' } });
  assert.deepEqual(tags().at(-1), [['type', 'API']]);
  assert.throws(() => http.get('http://x/j', { tags: { status: '200' } }), /tags: the tag "status" is the host's own/);
  // A check carries its own tags, not the last request's.
  host.calls.length = 0;
  check(1, { 'a': () => true }, { myTag: 'hola' });
  check(1, { 'b': () => true });
  assert.deepEqual(host.calls.map((c) => c[0] === 'tags' ? c : c.slice(0, 2)), [
    ['tags', [['myTag', 'hola']]],
    ['check', 'a'],
    ['tags', []],
    ['check', 'b'],
  ]);
});

test('a batch is one host call; each request keeps its params, tags and callback', () => {
  host.calls.length = 0;
  forgetTags();
  setBatchLimits({ batch: 8, batchPerHost: 3 });
  host.replies.push({ status: 200 }, { status: 201 }, { error: { tag: 'timeout' } }, { status: 404 });
  const out = http.batch({
    a: '/a',
    b: ['POST', '/b', { z: 1, a: "it's" }, { tags: { kind: 'x', name: 'bee' }, redirects: 0 }],
    c: { url: '/c', params: { responseCallback: http.expectedStatuses(200) } },
    d: { method: 'GET', url: '/d', params: { responseCallback: http.expectedStatuses(404) } },
  });
  assert.deepEqual(Object.keys(out), ['a', 'b', 'c', 'd']);
  assert.deepEqual(Object.values(out).map((r) => r.status), [200, 201, 0, 404]);
  assert.equal(out.c.error_code, 1050);
  assert.deepEqual(host.calls.find((c) => c[0] === 'batch'), ['batch', 4, 8, 3]);
  const sent = sends();
  assert.deepEqual(sent.map((r) => r.url), ['/a', '/b', '/c', '/d']);
  // k6's form encoding: keys sorted, and Go's escaping.
  assert.equal(text(sent[1].body), 'a=it%27s&z=1');
  assert.equal(sent[1].name, 'bee');
  // Only the answered request with a callback is settled; no per-VU state is touched.
  assert.deepEqual(host.calls.filter((c) => c[0] === 'settle'), [['settle', true, undefined]]);
  assert.equal(host.calls.filter((c) => ['follow', 'tags'].includes(c[0])).length, 0);
  assert.equal(http.batch([]).length, 0);
  assert.throws(() => http.batch([7]), /a request is a URL, an array or an object/);
  setBatchLimits({ batch: 20, batchPerHost: 6 });
});

test('async requests started together go out as one batch; each promise its own response', async () => {
  host.calls.length = 0;
  host.replies.push({ status: 200 }, { status: 503 }, { status: 204 });
  const [a, b] = await Promise.all([http.asyncRequest('GET', '/a'), http.asyncRequest('POST', '/b', 'x')]);
  assert.deepEqual([a.status, b.status], [200, 503]);
  assert.deepEqual(host.calls.filter((c) => c[0] === 'batch'), [['batch', 2, 64, 64]]);
  const c = await http.asyncRequest('GET', '/c');
  assert.equal(c.status, 204);
  assert.equal(host.calls.filter((x) => x[0] === 'batch').length, 2);
  await assert.rejects(http.asyncRequest('GET', '/d', null, { auth: 'ntlm' }), /ntlm.*not supported/);
});

test('randomSeed fixes Math.random for this VU', () => {
  const saved = Math.random;
  try {
    randomSeed(42);
    const a = [Math.random(), Math.random()];
    randomSeed(42);
    assert.deepEqual([Math.random(), Math.random()], a);
    randomSeed(43);
    assert.notDeepEqual([Math.random(), Math.random()], a);
    assert.ok(a.every((x) => x >= 0 && x < 1));
    assert.throws(() => randomSeed('soon'), /randomSeed: soon is not a number/);
  } finally {
    Math.random = saved;
  }
});

test("handleSummary's thresholds are keyed as the script wrote them", () => {
  const data = {
    metrics: {
      http_req_duration: { thresholds: { 'avg<2000ms': { ok: true }, 'p(95)<500ms': { ok: false }, 'max<9ms': { ok: true } } },
      http_req_failed: { thresholds: { 'rate<0.01': { ok: true } } },
    },
  };
  thresholdsAsWritten(data, {
    thresholds: {
      http_req_duration: ['p(95)<500', { threshold: 'avg < 2s', abortOnFail: true }],
      http_req_failed: 'rate<0.01',
      checks: ['rate>0.9'],
    },
  });
  assert.deepEqual(data.metrics.http_req_duration.thresholds, {
    'p(95)<500': { ok: false },
    'avg < 2s': { ok: true },
    // From --threshold, not the script: the host's name.
    'max<9ms': { ok: true },
  });
  assert.deepEqual(data.metrics.http_req_failed.thresholds, { 'rate<0.01': { ok: true } });
});
