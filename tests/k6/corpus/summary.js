// handleSummary (k6's "End-of-test summary" docs): the run's figures as k6's summary
// data, and what the function returns written to stdout and to files.
import http from 'k6/http';
import { check, group } from 'k6';

const T = __ENV.TARGET;

export const options = {
  thresholds: { http_req_duration: ['p(95)<60000'], checks: ['rate==1'] },
};

export default function () {
  group('shop', () => {
    const r = http.get(`${T}/echo/summary`);
    check(r, { 'status 200': (res) => res.status === 200 });
  });
}

export function handleSummary(data) {
  const m = data.metrics;
  const shop = data.root_group.groups[0];
  // Keyed as written here, as k6 keys them.
  const ok = m.http_req_duration.thresholds['p(95)<60000'].ok && m.checks.thresholds['rate==1'].ok;
  return {
    stdout: `requests=${m.http_reqs.values.count} checks=${m.checks.values.passes} thresholds ok=${ok}\n`,
    'out/summary.json': JSON.stringify({
      reqs: m.http_reqs.values.count,
      failed: m.http_req_failed.values.passes,
      group: shop.name,
      check: shop.checks[0].name,
      passes: shop.checks[0].passes,
      p95: m.http_req_duration.values['p(95)'] > 0,
    }),
    '../escape.txt': 'not here',
  };
}
