// An exception fails the iteration and the VU goes on; fail() says why.
import http from 'k6/http';
import { fail } from 'k6';

export default function () {
  const r = http.get(`${__ENV.TARGET}/ok`, { tags: { name: 'before' } });
  if (r.status === 200) fail('wrong shape');
}
