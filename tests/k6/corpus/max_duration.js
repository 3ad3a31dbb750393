// An iteration-bound scenario that runs out of time (k6's maxDuration): it stops
// there, and the run says its iterations were not all run.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  scenarios: {
    slow: { executor: 'per-vu-iterations', vus: 2, iterations: 1000, maxDuration: '600ms', gracefulStop: '0s' },
  },
};

export default function () {
  http.get(`${__ENV.TARGET}/echo/slow`);
  sleep(0.1);
}
