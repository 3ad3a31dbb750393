// @ts-check
// The seed's OAuth journey, in JavaScript: a password grant once per user, a
// refresh-token grant every N seconds (or when a token is refused), and the reporting
// API in between: dashboard (5) and usage report (2). As plugins/token-refresh (Rust).

import { http, check, env, between, task, fail, now } from '@stampede/sdk';

const ms = (/** @type {string} */ key, /** @type {number} */ d) => Number(env(key, String(d))) / 1000;

/**
 * @param {string} name
 * @param {Record<string, string>} grant
 * @returns {{access_token: string, refresh_token: string, expires_in: number}}
 */
function tokenRequest(name, grant) {
  const r = http.post('/oauth/token', {
    name,
    form: { ...grant, client_id: env('CLIENT_ID', 'demo-client'), client_secret: env('CLIENT_SECRET', 'demo-secret') },
    read: true,
  });
  if (!check('token issued', r.status === 200)) fail(`${name} refused with status ${r.status}: ${r.text()}`);
  return r.json();
}

const user = {
  // A function: --env is read when the run starts (top-level code runs at build time).
  waitTime: () => between(ms('WAIT_MIN_MS', 1000), ms('WAIT_MAX_MS', 3000)),
  access: '',
  refresh: '',
  obtained: 0,
  refreshAfter: 0,

  /** @param {{access_token: string, refresh_token: string, expires_in: number}} t */
  keep(t) {
    // Refresh after REFRESH_AFTER_S, and always before 80% of the token's life.
    const after = Number(env('REFRESH_AFTER_S', '240')) * 1000;
    this.refreshAfter = Math.min(after, t.expires_in * 800);
    this.access = t.access_token;
    this.refresh = t.refresh_token;
    this.obtained = now();
  },

  renew() {
    this.keep(tokenRequest('POST /oauth/token (refresh)', { grant_type: 'refresh_token', refresh_token: this.refresh }));
  },

  /**
   * A GET with a live token: refreshed when due, and once more if the API refuses it.
   * @param {string} name
   * @param {string} url
   * @param {Record<string, string>} query
   */
  authorizedGet(name, url, query) {
    if (now() - this.obtained >= this.refreshAfter) this.renew();
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = http.get(url, { name, query, bearer: this.access });
      if (r.status === 401 && attempt === 0) {
        check('token accepted', false);
        this.renew();
        continue;
      }
      check('token accepted', r.status !== 401);
      r.expectStatus(200);
      return;
    }
    fail(`${name}: a fresh token was refused too`);
  },

  onStart() {
    this.keep(
      tokenRequest('POST /oauth/token (password)', {
        grant_type: 'password',
        username: env('USERNAME', 'qa@example.com'),
        password: env('PASSWORD', 'demo-password'),
        scope: 'reports',
      }),
    );
  },

  tasks: [
    task(5, function dashboard() {
      user.authorizedGet('GET /api/v2/dashboard/summary', '/api/v2/dashboard/summary', { range: '7d' });
    }),
    task(2, function usage_report() {
      user.authorizedGet('GET /api/v2/reports/usage', '/api/v2/reports/usage', {
        teamId: env('TEAM_ID', 'team-42'),
        period: 'month',
      });
    }),
  ],
};

export default user;
