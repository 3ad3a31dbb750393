// k6's scenarios: each with its executor, its own function (`exec`), env and start
// time; setup() once for all of them, its data in each, teardown() once at the end.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

export const options = {
  scenarios: {
    browse: { executor: 'shared-iterations', vus: 2, iterations: 5, exec: 'browse' },
    buy: {
      executor: 'per-vu-iterations',
      vus: 2,
      iterations: 3,
      exec: 'buy',
      env: { KIND: 'card' },
      startTime: '300ms',
    },
    idle: { executor: 'per-vu-iterations', vus: 1, iterations: 2, exec: 'idle', maxDuration: '30s' },
  },
  thresholds: { 'checks{scenario:buy}': ['rate==1'] },
};

export function setup() {
  http.post(`${__ENV.TARGET}/echo/setup`, 'once');
  return { code: 'S1' };
}

export function browse(data) {
  http.get(`${__ENV.TARGET}/echo/browse?code=${data.code}&scenario=${exec.scenario.name}`);
}

export function buy(data) {
  const r = http.get(`${__ENV.TARGET}/echo/buy?code=${data.code}&kind=${__ENV.KIND}&executor=${exec.scenario.executor}`);
  check(r, { 'bought': (res) => res.status === 200 });
}

export function idle() {
  http.get(`${__ENV.TARGET}/echo/idle`);
}

// Run when the command line replaces the scenarios with its own load.
export default function () {
  http.get(`${__ENV.TARGET}/echo/scenarios`);
}

export function teardown(data) {
  http.post(`${__ENV.TARGET}/echo/teardown`, data.code);
}
