// The seed's OAuth journey as a k6 script: a password grant on each VU's first
// iteration, a refresh-token grant when due (or when a token is refused), and the
// reporting API in between: dashboard (5) and usage report (2), as
// plugins/token-refresh-js does with tasks.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';

const BASE = __ENV.BASE_URL || '';
const waitMin = Number(__ENV.WAIT_MIN_MS || 1000) / 1000;
const waitMax = Number(__ENV.WAIT_MAX_MS || 3000) / 1000;

let access = '';
let refresh = '';
let obtained = 0;
let refreshAfter = 0;

function tokenRequest(name, grant) {
  const form = {
    ...grant,
    client_id: __ENV.CLIENT_ID || 'demo-client',
    client_secret: __ENV.CLIENT_SECRET || 'demo-secret',
  };
  const r = http.post(`${BASE}/oauth/token`, form, { tags: { name } });
  if (!check(r, { 'token issued': (res) => res.status === 200 })) fail(`${name} refused with status ${r.status}: ${r.body}`);
  const t = r.json();
  // Refresh after REFRESH_AFTER_S, and always before 80% of the token's life.
  refreshAfter = Math.min(Number(__ENV.REFRESH_AFTER_S || 240) * 1000, t.expires_in * 800);
  access = t.access_token;
  refresh = t.refresh_token;
  obtained = Date.now();
}

function renew() {
  tokenRequest('POST /oauth/token (refresh)', { grant_type: 'refresh_token', refresh_token: refresh });
}

function authorizedGet(name, url) {
  if (Date.now() - obtained >= refreshAfter) renew();
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = http.get(url, { headers: { Authorization: `Bearer ${access}` }, tags: { name } });
    if (r.status === 401 && attempt === 0) {
      check(r, { 'token accepted': () => false });
      renew();
      continue;
    }
    check(r, { 'token accepted': (res) => res.status !== 401, 'status 200': (res) => res.status === 200 });
    return;
  }
  fail(`${name}: a fresh token was refused too`);
}

export default function () {
  if (!access) {
    tokenRequest('POST /oauth/token (password)', {
      grant_type: 'password',
      username: __ENV.USERNAME || 'qa@example.com',
      password: __ENV.PASSWORD || 'demo-password',
      scope: 'reports',
    });
  }
  if (Math.random() * 7 < 5) {
    authorizedGet('GET /api/v2/dashboard/summary', `${BASE}/api/v2/dashboard/summary?range=7d`);
  } else {
    authorizedGet('GET /api/v2/reports/usage', `${BASE}/api/v2/reports/usage?teamId=${__ENV.TEAM_ID || 'team-42'}&period=month`);
  }
  sleep(waitMin + Math.random() * (waitMax - waitMin));
}
