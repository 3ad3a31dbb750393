// @ts-check
// The seed's e-commerce checkout journey, in JavaScript: each user logs in and opens a
// cart once, then browses the catalogue (4), adds what it saw to the cart (3) and
// checks out (1). The same flow, names and weights as plugins/checkout (Rust).

import { http, check, env, between, task, fail } from '@stampede/sdk';

const CATEGORIES = ['electronics', 'books', 'home', 'toys', 'garden'];
const SORTS = ['relevance', 'price_asc', 'price_desc'];
const pick = (/** @type {any[]} */ xs) => xs[Math.floor(Math.random() * xs.length)];
const ms = (/** @type {string} */ key, /** @type {number} */ d) => Number(env(key, String(d))) / 1000;

/** @param {string} token */
function newCart(token) {
  const r = http
    .post('/api/v1/carts', { name: 'POST /api/v1/carts', bearer: token, json: { currency: env('CURRENCY', 'USD') }, read: true })
    .ensure((r) => r.status === 201, 'cart not created');
  return r.json().id;
}

export default {
  // A function: --env is read when the run starts (top-level code runs at build time).
  waitTime: () => between(ms('WAIT_MIN_MS', 1000), ms('WAIT_MAX_MS', 3000)),
  token: '',
  cart: 0,
  /** @type {string[]} SKUs seen while browsing */
  seen: [],
  itemsInCart: 0,

  onStart() {
    const r = http.post('/api/v1/auth/login', {
      name: 'POST /api/v1/auth/login',
      json: { email: env('EMAIL', 'qa@example.com'), password: env('PASSWORD', 'demo-password') },
      read: true,
    });
    if (!check('login succeeded', r.status === 200)) fail(`login failed with status ${r.status}`);
    this.token = r.json().access_token;
    this.cart = newCart(this.token);
  },

  tasks: [
    task(4, function browse() {
      const page = 1 + Math.floor(Math.random() * 3);
      const r = http
        .get('/api/v1/products', {
          name: 'GET /api/v1/products',
          query: { category: pick(CATEGORIES), page, limit: 20, sort: pick(SORTS) },
          bearer: this.token,
          read: true,
        })
        .expectStatus(200);
      const items = r.json().items;
      if (!check('catalogue page has products', items.length > 0)) fail(`empty catalogue page ${page}`);
      this.seen = items.map((/** @type {{sku: string}} */ p) => p.sku);
    }),

    task(3, function add_to_cart() {
      const sku = this.seen.length ? pick(this.seen) : 'SKU-104582';
      const r = http.post(`/api/v1/carts/${this.cart}/items`, {
        name: 'POST /api/v1/carts/:id/items',
        bearer: this.token,
        json: { productId: sku, quantity: 1 + Math.floor(Math.random() * 3) },
      });
      check('item added', r.status === 201);
      r.ensure((r) => r.status === 201, `could not add ${sku}`);
      this.itemsInCart += 1;
    }),

    task(1, function checkout() {
      // An order needs something in the cart, as a real shopper's would.
      if (this.itemsInCart === 0) this.tasks[1].run.call(this);
      const r = http
        .post('/api/v1/orders', {
          name: 'POST /api/v1/orders',
          bearer: this.token,
          json: {
            cartId: this.cart,
            paymentMethod: 'card',
            shippingAddress: { name: 'QA Tester', line1: '1 Load Street', city: 'Springfield', postalCode: '12345', country: 'US' },
          },
          read: true,
        })
        .expectStatus(201);
      if (!check('order confirmed', r.json().status === 'confirmed')) fail('order not confirmed');
      // The cart is closed by the order: shop on with a new one.
      this.cart = newCart(this.token);
      this.itemsInCart = 0;
    }),
  ],
};
