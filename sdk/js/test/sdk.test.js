// Unit tests of the SDK's request encoding, error mapping and user wrapping, with the
// host imports stubbed (run by `node test/run.mjs`; the cargo test suite runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as host from './host-stub.js';
import { http, check, sleep, env, vu, now, between, constant, task, defineUser, fail, multipart, urlencode, HttpError } from '../src/index.js';

const text = (b) => new TextDecoder().decode(b);
const last = () => host.calls.filter((c) => c[0] === 'send').at(-1)[1];

test('one host call per request, with the WIT request fields', () => {
  host.calls.length = 0;
  const r = http.get('/api/v1/products', { name: 'list', query: { page: 2, q: 'a b&c' }, bearer: 't0k', timeout: 1500 });
  const sends = host.calls.filter((c) => c[0] === 'send');
  assert.equal(sends.length, 1);
  const req = sends[0][1];
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/api/v1/products?page=2&q=a+b%26c');
  assert.deepEqual(req.headers, [['Authorization', 'Bearer t0k']]);
  assert.equal(req.name, 'list');
  assert.equal(req.timeoutMs, 1500);
  assert.deepEqual(req.read, { body: false, headers: false });
  assert.equal(r.status, 200);
  assert.equal(r.timings.wait, 2.5);
  assert.throws(() => r.json(), /not requested: pass \{ read: true \}/);
});

test('trace context per request: set around the one request, then the run\'s again', () => {
  host.calls.length = 0;
  http.get('/a', { trace: true });
  http.get('/b');
  http.get('/c', { trace: 'unsampled' });
  http.get('/d', { trace: false });
  const seen = host.calls.filter((c) => c[0] === 'trace' || c[0] === 'send').map((c) => (c[0] === 'send' ? c[1].url : c[1]));
  assert.deepEqual(seen, ['sampled', '/a', 'run', '/b', 'unsampled', '/c', 'run', 'off', '/d', 'run']);
  assert.throws(() => http.get('/e', { trace: 'yes' }), /trace: true, false/);
});

test('json, form and raw bodies carry their content type', () => {
  host.replies.push({ status: 201, body: new TextEncoder().encode('{"id":5}'), bodySize: 8 });
  const r = http.post('/c', { json: { a: [1, 'x'] }, read: true });
  assert.equal(text(last().body), '{"a":[1,"x"]}');
  assert.deepEqual(last().headers, [['Content-Type', 'application/json']]);
  assert.deepEqual(last().read, { body: true, headers: true });
  assert.equal(r.json().id, 5);
  assert.equal(r.bodySize, 8);
  http.post('/f', { form: { grant_type: 'password', username: 'qa@example.com' } });
  assert.equal(text(last().body), 'grant_type=password&username=qa%40example.com');
  http.put('/r', { body: 'raw', headers: { 'X-A': 1 } });
  assert.equal(text(last().body), 'raw');
  assert.deepEqual(last().headers, [['X-A', '1']]);
  assert.equal(urlencode([['k', 'v w']]), 'k=v+w');
});

test('multipart bodies have a boundary found in no part', () => {
  const [type, body] = multipart({ importType: 'full', file: { data: 'email\na@x.io\n', filename: 'c "1".csv', type: 'text/csv' } });
  const boundary = type.match(/boundary=(.+)$/)[1];
  const s = text(body);
  const parts = s.split(`--${boundary}`);
  assert.equal(parts.length, 4, s);
  assert.equal(parts[3], '--\r\n');
  assert.match(parts[1], /name="importType"\r\n\r\nfull\r\n$/);
  assert.match(parts[2], /name="file"; filename="c \\"1\\".csv"\r\nContent-Type: text\/csv\r\n\r\nemail\na@x.io\n\r\n$/);
  http.post('/u', { multipart: { f: { data: new Uint8Array([0, 255]) } } });
  assert.match(last().headers[0][1], /^multipart\/form-data; boundary=/);
});

test('an http-error becomes an HttpError with its kind', () => {
  host.replies.push({ error: { tag: 'connect', val: 'refused' } });
  assert.throws(
    () => http.get('http://127.0.0.1:1/'),
    (e) => e instanceof HttpError && e.kind === 'connect' && e.message === 'connect: refused',
  );
  host.replies.push({ error: { tag: 'timeout' } });
  assert.throws(() => http.get('/slow'), (e) => e.kind === 'timeout' && e.message === 'timeout');
});

test('response helpers fail the task with a message', () => {
  host.replies.push({ status: 404 });
  const r = http.get('/x');
  assert.throws(() => r.expectStatus(200), /expected status 200, got 404 \(status 404\)/);
  assert.equal(r.ensure((r) => r.status === 404, 'no'), r);
  host.replies.push({ status: 200, headers: [['Content-Type', 'text/plain']] });
  assert.equal(http.get('/h', { read: 'headers' }).header('content-type'), 'text/plain');
  // The host sends a final URL only after redirects, and a body only when asked.
  host.replies.push({ status: 200, finalUrl: 'http://h/after' });
  const moved = http.get('/before');
  assert.equal(moved.finalUrl, 'http://h/after');
  assert.throws(() => moved.body, /not requested/);
  assert.equal(moved.header('content-type'), undefined);
  assert.equal(http.get('/plain').finalUrl, '/plain');
});

test('checks, sleep, env, vu, clock', () => {
  host.calls.length = 0;
  assert.equal(check('ok', 1), true);
  sleep(0.25);
  assert.deepEqual(host.calls, [['check', 'ok', true], ['sleep', 250]]);
  host.envs.set('K', 'v');
  assert.equal(env('K'), 'v');
  assert.equal(env('MISSING', 'd'), 'd');
  assert.equal(env('MISSING'), undefined);
  assert.deepEqual([vu.id(), vu.iteration(), now()], [7, 3, 1500]);
});

test('defineUser describes tasks and turns throws into err payloads', () => {
  const u = defineUser({
    waitTime: () => between(0.5, 1.5),
    started: false,
    onStart() { this.started = true; },
    tasks: [
      task(3, function ok() { this.ran = true; }),
      task(1, function broken() { fail('cart not created'); }),
      task(0, function typo() { null.x; }),
    ],
  });
  assert.deepEqual(u.describe(), {
    tasks: [{ name: 'ok', weight: 3 }, { name: 'broken', weight: 1 }, { name: 'typo', weight: 0 }],
    wait: { tag: 'between', val: [500, 1500] },
  });
  u.onStart();
  u.runTask(0);
  assert.throws(() => u.runTask(1), (e) => e.payload === 'cart not created');
  assert.throws(() => u.runTask(2), (e) => /^TypeError: /.test(e.payload));
  assert.throws(() => u.runTask(9), (e) => e.payload === 'no task 9');
  const named = defineUser({ waitTime: constant(2), tasks: { browse: [4, () => {}] } });
  assert.deepEqual(named.describe(), { tasks: [{ name: 'browse', weight: 4 }], wait: { tag: 'constant', val: 2000 } });
  assert.throws(() => defineUser({ tasks: [] }), /no tasks/);
  assert.throws(() => defineUser(undefined), /must export a user object/);
});

test('an async task is awaited: its rejection is the task failing, named', async () => {
  const u = defineUser({
    tasks: [
      task(1, async function fine() {
        await null;
      }),
      task(1, async function late() {
        await null;
        throw new Error('after an await');
      }),
    ],
  });
  assert.equal(await u.runTask(0), undefined);
  await assert.rejects(u.runTask(1), (e) => e.payload === 'Error: after an await');
  assert.equal(u.onStart(), undefined);
});
