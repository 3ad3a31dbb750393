// The script's options plan the run and judge it, as in k6; flags override them.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  vus: 2,
  iterations: 6,
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:fast}': [{ threshold: 'p(95)<0.001', abortOnFail: false }],
  },
  userAgent: 'ignored/1.0',
};

export default function () {
  // The VU in a header: which VU takes which shared iteration is not fixed.
  http.get(`${__ENV.TARGET}/echo/options`, { headers: { 'X-VU': `${__VU}` }, tags: { name: 'fast' } });
  // Long enough that one VU cannot take every iteration before the other is scheduled
  // on a loaded machine.
  sleep(0.2);
}
