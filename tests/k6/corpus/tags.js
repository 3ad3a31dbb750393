// Thresholds on tagged requests and checks (k6's sub-metrics, from its "Thresholds" and
// "Tags and Groups" docs): a request's own tags, its group, its method, status and
// whether its response was expected, a check's own tags, and the test-wide tags of
// `options.tags`. Every threshold holds only if each is tagged as k6 tags it.
import http from 'k6/http';
import { check, group } from 'k6';

const TARGET = __ENV.TARGET;

export const options = {
  tags: { env: 'test' },
  thresholds: {
    'http_reqs{type:API}': ['count==3'],
    'http_req_duration{type:API}': ['p(95)<60000', 'max<60000'],
    'http_req_failed{type:API}': ['rate==0'],
    'http_reqs{type:static}': ['count==2'],
    'http_reqs{type:API,method:GET}': ['count==3'],
    'http_reqs{group:::shop,type:API}': ['count==1'],
    'http_reqs{group:::shop}': ['count==1'],
    'http_reqs{group:::shop::cart}': ['count==1'],
    'http_reqs{method:POST}': ['count==1'],
    'http_reqs{status:404}': ['count==1'],
    'http_reqs{expected_response:false}': ['count==1'],
    'http_reqs{expected_response:true}': ['count==6'],
    'http_reqs{env:test}': ['count==7'],
    'http_req_waiting{group:::shop}': ['avg<60000'],
    'checks{myTag:hola}': ['rate==1'],
    'checks{env:test}': ['rate==0.5'],
  },
};

export default function () {
  const r = http.get(`${TARGET}/echo/api/1`, { tags: { type: 'API' } });
  check(r, { 'api answered': (res) => res.status === 200 }, { myTag: 'hola' });
  check(r, { 'not tagged': () => false });
  http.get(`${TARGET}/echo/api/2`, { tags: { type: 'API', name: 'second api' } });
  group('shop', () => {
    http.get(`${TARGET}/echo/shop`, { tags: { type: 'API' } });
    group('cart', () => {
      http.post(`${TARGET}/echo/cart`, 'item=1');
    });
  });
  http.batch([
    ['GET', `${TARGET}/echo/static/1`, null, { tags: { type: 'static' } }],
    ['GET', `${TARGET}/echo/static/2`, null, { tags: { type: 'static' } }],
  ]);
  http.get(`${TARGET}/status/404`, { tags: { name: 'missing' } });
}
