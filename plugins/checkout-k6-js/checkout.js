// The seed's checkout journey as a k6 script (k6's API, run unchanged by `k6 run` or
// `stampede run`): each VU logs in and opens a cart on its first iteration, then each
// iteration browses the catalogue, adds an item or checks out (4:3:1), as
// plugins/checkout-js does with tasks. Requests are named as there, by `tags.name`.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';

const BASE = __ENV.BASE_URL || '';
const CATEGORIES = ['electronics', 'books', 'home', 'toys', 'garden'];
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const waitMin = Number(__ENV.WAIT_MIN_MS || 1000) / 1000;
const waitMax = Number(__ENV.WAIT_MAX_MS || 3000) / 1000;

export const options = {
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:POST /api/v1/orders}': ['p(95)<2000'],
  },
};

// This VU's own state: init code runs per VU.
let token = '';
let cart = '';
let seen = [];
let itemsInCart = 0;

function auth() {
  return { ...JSON_HEADERS, Authorization: `Bearer ${token}` };
}

function newCart() {
  const r = http.post(`${BASE}/api/v1/carts`, JSON.stringify({ currency: __ENV.CURRENCY || 'USD' }), {
    headers: auth(),
    tags: { name: 'POST /api/v1/carts' },
  });
  if (!check(r, { 'cart created': (res) => res.status === 201 })) fail(`cart not created: ${r.status}`);
  cart = r.json('id');
  itemsInCart = 0;
}

function login() {
  const body = { email: __ENV.EMAIL || 'qa@example.com', password: __ENV.PASSWORD || 'demo-password' };
  const r = http.post(`${BASE}/api/v1/auth/login`, JSON.stringify(body), {
    headers: JSON_HEADERS,
    tags: { name: 'POST /api/v1/auth/login' },
  });
  if (!check(r, { 'login succeeded': (res) => res.status === 200 })) fail(`login failed with status ${r.status}`);
  token = r.json('access_token');
  newCart();
}

function browse() {
  const r = http.get(`${BASE}/api/v1/products?category=${pick(CATEGORIES)}&page=1&limit=20`, {
    headers: auth(),
    tags: { name: 'GET /api/v1/products' },
  });
  check(r, { 'catalogue page has products': (res) => res.status === 200 && res.json('items.#') > 0 });
  seen = r.json('items').map((p) => p.sku);
}

function addToCart() {
  const sku = seen.length ? pick(seen) : 'SKU-104582';
  const r = http.post(`${BASE}/api/v1/carts/${cart}/items`, JSON.stringify({ productId: sku, quantity: 1 }), {
    headers: auth(),
    tags: { name: 'POST /api/v1/carts/:id/items' },
  });
  check(r, { 'item added': (res) => res.status === 201 });
  itemsInCart += 1;
}

function checkout() {
  // An order needs something in the cart, as a real shopper's would.
  if (itemsInCart === 0) addToCart();
  const order = {
    cartId: cart,
    paymentMethod: 'card',
    shippingAddress: { name: 'QA Tester', line1: '1 Load Street', city: 'Springfield', postalCode: '12345', country: 'US' },
  };
  const r = http.post(`${BASE}/api/v1/orders`, JSON.stringify(order), {
    headers: auth(),
    tags: { name: 'POST /api/v1/orders' },
  });
  check(r, { 'order confirmed': (res) => res.status === 201 && res.json('status') === 'confirmed' });
  // The cart is closed by the order: shop on with a new one.
  newCart();
}

export default function () {
  if (!token) login();
  const roll = Math.random() * 8;
  if (roll < 4) browse();
  else if (roll < 7) addToCart();
  else checkout();
  sleep(waitMin + Math.random() * (waitMax - waitMin));
}
