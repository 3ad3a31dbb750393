// @ts-check
// A basic authenticated smoke test, in JavaScript: log in once per user, then list
// products (3), view a product (2) and read the profile (1).
import { http, check, env, between, task, fail } from '@stampede/sdk';

const seconds = (/** @type {string} */ key, /** @type {number} */ ms) => Number(env(key, String(ms))) / 1000;

export default {
  // A function: --env is read when the run starts (top-level code runs at build time).
  waitTime: () => between(seconds('WAIT_MIN_MS', 1000), seconds('WAIT_MAX_MS', 3000)),
  token: '',

  onStart() {
    // The language's own environment API sees the run's --env, and only it.
    check('environment is --env', process.env.WAIT_MIN_MS === env('WAIT_MIN_MS'));
    const r = http.post('/api/v1/auth/login', {
      name: 'POST /api/v1/auth/login',
      json: { email: env('EMAIL', 'qa@example.com'), password: env('PASSWORD', 'demo-password') },
      read: true,
    });
    if (!check('login succeeded', r.status === 200)) fail(`login failed with status ${r.status}`);
    this.token = r.json().access_token;
  },

  tasks: [
    task(3, function list_products() {
      const r = http.get('/api/v1/products', { name: 'GET /api/v1/products', query: { category: 'electronics', page: 1, limit: 20 }, bearer: this.token });
      check('products listed', r.status === 200);
      r.expectStatus(200);
    }),
    task(2, function view_product() {
      const r = http.get('/api/v1/products/SKU-104582', { name: 'GET /api/v1/products/:sku', bearer: this.token });
      check('product found', r.status === 200);
      r.expectStatus(200);
    }),
    task(1, function my_profile() {
      const r = http.get('/api/v1/users/me', { name: 'GET /api/v1/users/me', bearer: this.token });
      check('profile authorized', r.status === 200);
      r.expectStatus(200);
    }),
  ],
};
