// Which responses count as failed: k6's rule (outside 200-399), expectedStatuses per
// request and for the whole script, and requests that got no response.
import http from 'k6/http';
import { check } from 'k6';

const TARGET = __ENV.TARGET;

export default function () {
  http.get(`${TARGET}/status/404`, { tags: { name: 'plain 404' } });
  http.get(`${TARGET}/status/302`, { redirects: 0, tags: { name: 'plain 302' } });
  http.get(`${TARGET}/status/404`, { tags: { name: 'expected 404' }, responseCallback: http.expectedStatuses(404) });
  http.get(`${TARGET}/ok`, { tags: { name: 'unexpected 200' }, responseCallback: http.expectedStatuses({ min: 400, max: 499 }) });
  const r = http.get(`${TARGET}/slow/2000`, { timeout: '200ms', tags: { name: 'no response' } });
  check(r, { 'status 0 and an error code': (res) => res.status === 0 && res.error_code === 1050 && res.error !== '' });
  http.setResponseCallback(http.expectedStatuses(200, 503));
  http.get(`${TARGET}/status/503`, { tags: { name: 'global 503' } });
  // null: no request is marked failed.
  http.setResponseCallback(null);
  http.get(`${TARGET}/status/500`, { tags: { name: 'callback null 500' } });
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }));
}
