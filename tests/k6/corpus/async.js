// Async k6 scripts (k6 0.43 and later): an async default function and setup,
// `http.asyncRequest` with `Promise.all` (the requests in flight at once, as the
// server's count of requests in at the same time shows), and `randomSeed`.
import http from 'k6/http';
import { check, randomSeed } from 'k6';

const T = __ENV.TARGET;

export async function setup() {
  const r = await http.asyncRequest('GET', `${T}/echo/async/setup`);
  return { setupStatus: r.status };
}

export default async function (data) {
  const dwell = { tags: { name: 'dwell' } };
  const [a, b, c] = await Promise.all([
    http.asyncRequest('GET', `${T}/dwell/async/300`, null, dwell),
    http.asyncRequest('GET', `${T}/dwell/async/300`, null, dwell),
    http.asyncRequest('POST', `${T}/echo/async/post`, JSON.stringify({ n: 1 }), {
      headers: { 'Content-Type': 'application/json' },
    }),
  ]);
  check([a, b, c], {
    'in flight at once': ([x, y]) => x.body === '2' && y.body === '2',
    'the post echoed': ([, , z]) => z.json('body') === '{"n":1}',
    'setup awaited': () => data.setupStatus === 200,
  });
  const next = await http.asyncRequest('GET', `${T}/status/404`, null, { tags: { name: 'missing' } });
  check(next, { 'one after another': (r) => r.status === 404 });

  randomSeed(42);
  const first = [Math.random(), Math.random(), Math.random()];
  randomSeed(42);
  const again = [Math.random(), Math.random(), Math.random()];
  check(first, {
    'a seed fixes the sequence': (xs) =>
      xs.every((x, i) => x === again[i] && x >= 0 && x < 1) && new Set(xs).size === 3,
  });

  if (__ENV.THROW_LATE) {
    await http.asyncRequest('GET', `${T}/echo/async/late`);
    throw new Error('thrown after an await');
  }
}
