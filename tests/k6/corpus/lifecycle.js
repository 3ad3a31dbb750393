// setup() once per run, its data in every iteration, teardown(data) at the end; init
// code per VU (reading __ENV and an open()ed file); checks, groups, custom metrics and
// k6/execution.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import encoding from 'k6/encoding';

const TARGET = __ENV.TARGET;
const rows = new SharedArray('rows', () => open('./rows.csv').trim().split('\n').slice(1));
const orders = new Counter('orders_seen');
const depth = new Gauge('queue_depth');
const good = new Rate('good_rate');
const took = new Trend('took_ms', true);

// Sub-metric thresholds: checks by group and by name, a group's duration, a tagged series.
export const options = {
  thresholds: {
    'checks{group:::with data}': ['rate==1'],
    'checks{check:status 200}': ['rate==1'],
    'group_duration{group:::with data}': ['max>=0'],
    'orders_seen{kind:web}': ['count>=8'],
  },
};

export function setup() {
  const r = http.post(`${TARGET}/echo/setup`, 'once');
  return { token: 'tok-' + r.status, rows: rows.length };
}

export default function (data) {
  group('with data', () => {
    const row = rows[(exec.vu.idInTest + __ITER) % rows.length];
    const r = http.get(`${TARGET}/echo/iter?vu=${__VU}&row=${row}`, {
      headers: { Authorization: `Bearer ${data.token}`, 'X-B64': encoding.b64encode('hi there') },
      tags: { name: 'iteration' },
    });
    check(r, { 'setup data arrived': () => data.rows === 3, 'status 200': (res) => res.status === 200 });
    orders.add(2, { kind: 'web' });
    depth.add(7);
    good.add(r.status === 200);
    took.add(r.timings.duration);
  });
  sleep(0.01);
}

export function teardown(data) {
  http.post(`${TARGET}/echo/teardown`, JSON.stringify(data));
}
