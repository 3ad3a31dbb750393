// `http.batch` as k6's docs write it: requests as URLs, arrays and objects, in an array
// or an object by name, in flight at once within `batchPerHost`; each with its own
// params (headers, body, tags, redirects, response callback); its responses' cookies
// in the VU's jar after it. `/dwell/KEY/MS` answers the most requests of KEY that were
// in the server at once, so a batch sent one request after another fails its checks.
import http from 'k6/http';
import { check, group } from 'k6';

const T = __ENV.TARGET;

export const options = {
  batchPerHost: 3,
  thresholds: {
    'http_reqs{kind:trio}': ['count==3'],
    'http_req_failed{kind:trio}': ['rate==0'],
    'http_reqs{group:::five}': ['count==5'],
    'http_reqs{expected_response:false}': ['count==2'],
  },
};

export default function () {
  const trio = { tags: { kind: 'trio' } };
  const three = http.batch([
    ['GET', `${T}/dwell/trio/300`, null, trio],
    { method: 'GET', url: `${T}/dwell/trio/300`, params: trio },
    { url: `${T}/dwell/trio/300`, params: trio },
  ]);
  check(three, {
    'three in flight at once': (rs) => rs.length === 3 && rs.every((r) => r.body === '3'),
  });

  group('five', () => {
    const five = http.batch({
      a: `${T}/dwell/five/150`,
      b: `${T}/dwell/five/150`,
      c: ['GET', `${T}/dwell/five/150`],
      d: { method: 'GET', url: `${T}/dwell/five/150` },
      e: `${T}/dwell/five/150`,
    });
    check(five, {
      'responses by the same keys': (p) => Object.keys(p).sort().join() === 'a,b,c,d,e',
      'never more than batchPerHost at once': (p) => Object.values(p).every((r) => r.body === '3'),
    });
  });

  const mixed = http.batch([
    ['POST', `${T}/echo/batch/post`, JSON.stringify({ a: 1 }), {
      headers: { 'Content-Type': 'application/json', 'X-Item': 'first' },
      tags: { name: 'posted' },
    }],
    ['GET', `${T}/redirect`, null, { redirects: 0, tags: { name: 'not followed' } }],
    ['GET', `${T}/status/404`, null, {
      responseCallback: http.expectedStatuses(404), tags: { name: 'expected 404' },
    }],
    ['GET', `${T}/status/201`, null, {
      responseCallback: http.expectedStatuses(404), tags: { name: 'unexpected 201' },
    }],
    ['GET', `${T}/status/503`, null, { tags: { name: 'unavailable' } }],
    ['PUT', `${T}/echo/batch/form`, { q: "a b's", n: 1 }],
  ]);
  check(mixed, {
    'each its own body and headers': (m) =>
      m[0].json('body') === '{"a":1}' && m[0].json('headers.x-item') === 'first' &&
      m[5].json('body') === 'n=1&q=a+b%27s',
    'a redirect not followed': (m) => m[1].status === 302,
    'statuses in order': (m) => m.map((r) => r.status).join() === '200,302,404,201,503,200',
    'what was sent': (m) => m[0].request.method === 'POST' && m[5].request.method === 'PUT',
  });

  // A cookie a batch's response set is sent by the next request.
  http.batch([`${T}/cookie/set`, `${T}/echo/batch/beside`]);
  check(http.get(`${T}/cookie/check`, { tags: { name: 'cookie check' } }), {
    'the batch set a cookie': (r) => r.status === 200,
  });

  if (__ENV.OVERSIZE) {
    http.batch(Array.from({ length: 1001 }, () => `${T}/echo/never`));
  }
}
