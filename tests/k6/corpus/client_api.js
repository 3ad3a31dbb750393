// k6/http's arguments and responses, each request checked by the test against what the
// server saw at /echo. Written from k6's documentation of k6/http.
import http from 'k6/http';
import { check, fail } from 'k6';
import crypto from 'k6/crypto';

const TARGET = __ENV.TARGET;

export default function () {
  const params = { headers: { 'X-Team': __ENV.TEAM, Accept: 'application/json' }, tags: { name: 'echo get' } };
  let r = http.get(`${TARGET}/echo/get?q=a+b&n=1`, params);
  const seen = r.json();
  if (seen.headers['x-team'] !== __ENV.TEAM) fail(`x-team: ${JSON.stringify(seen.headers)}`);
  check(r, {
    'json selector': (res) => res.json('method') === 'GET',
    'canonical header names': (res) => res.headers['Content-Type'] === 'application/json',
    'timings': (res) => res.timings.duration > 0 && res.timings.waiting >= 0,
    'url': (res) => res.url === `${TARGET}/echo/get?q=a+b&n=1`,
    'no error': (res) => res.error === '' && res.error_code === 0,
  });
  http.post(`${TARGET}/echo/form`, { grant_type: 'password', username: 'u@x.io' });
  // k6/crypto: a signed request, as APIs with request signatures want.
  const sig = crypto.hmac('sha256', 'key', 'GET /echo/signed', 'hex');
  http.get(`${TARGET}/echo/signed?sig=${sig}&md5=${crypto.md5('abc', 'hex')}&sha1=${crypto.sha1('abc', 'base64rawurl')}`);
  http.post(`${TARGET}/echo/json`, JSON.stringify({ items: [1, 2], ok: true }), {
    headers: { 'Content-Type': 'application/json', 'X-Trace': 't-1' },
  });
  http.put(`${TARGET}/echo/raw`, new Uint8Array([0, 1, 114, 97, 119]).buffer, {
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  http.patch(`${TARGET}/echo/text`, 'plain text');
  http.post(`${TARGET}/echo/upload`, {
    importType: 'full',
    file: http.file('email\na@x.io\n', 'c.csv', 'text/csv'),
  });
  http.del(`${TARGET}/echo/item`, null, { cookies: { one: '1' } });
  http.options(`${TARGET}/echo/opts`);
  http.head(`${TARGET}/echo/head`);
  const auth = TARGET.replace('://', '://svc:s3cret@');
  http.get(`${auth}/echo/auth`);
  r = http.get(`${TARGET}/redirect`, { redirects: 0, tags: { name: 'no redirect' } });
  check(r, { 'redirect not followed': (res) => res.status === 302 && res.headers.Location === '/ok' });
  r = http.get(`${TARGET}/redirect`, { tags: { name: 'redirect' } });
  check(r, { 'redirect followed': (res) => res.status === 200 && res.url.endsWith('/ok') && res.body === 'ok' });
  r = http.get(`${TARGET}/cookie/set`, { tags: { name: 'cookie set' } });
  check(r, { 'response cookies': (res) => res.cookies.session[0].value === 'abc123' });
  check(http.get(`${TARGET}/cookie/check`, { tags: { name: 'cookie check' } }), { 'jar kept the cookie': (res) => res.status === 200 });
  // The VU's jar: the server's cookie seen, one set by the script sent, both removed.
  const jar = http.cookieJar();
  check(jar.cookiesForURL(`${TARGET}/cookie/check`), { 'cookiesForURL': (c) => c.session[0] === 'abc123' });
  // At the path the cookie was set for: k6 (Go's jar) removes only cookies whose path
  // is the URL's directory, Stampede every cookie sent to the URL; both agree here.
  jar.clear(`${TARGET}/`);
  jar.set(`${TARGET}/echo/jar`, 'team', __ENV.TEAM);
  http.get(`${TARGET}/echo/jar`, { tags: { name: 'jar set' } });
  jar.delete(`${TARGET}/echo/jar`, 'team');
  http.get(`${TARGET}/echo/jar/deleted`, { tags: { name: 'jar deleted' }, jar });
  const gone = http.get(`${TARGET}/cookie/check`, { tags: { name: 'jar cleared' }, responseCallback: http.expectedStatuses(400) });
  check(gone, { 'cleared cookie not sent': (res) => res.status === 400 });
  const id = 42;
  http.get(http.url`${TARGET}/echo/items/${id}`);
  const [a, b] = http.batch([
    ['GET', `${TARGET}/echo/batch/1`],
    { method: 'POST', url: `${TARGET}/echo/batch/2`, body: 'two' },
  ]);
  check(a, { 'batch answered': () => a.status === 200 && b.status === 200 });
  r = http.get(`${TARGET}/ok`, { responseType: 'none', tags: { name: 'no body' } });
  check(r, { 'responseType none': (res) => res.body === null });
}
