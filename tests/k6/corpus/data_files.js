// Test data as k6 scripts read it, from the run's data directory (--data): open() of a
// file that is not beside the script, and a SharedArray built once for every VU.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';

const products = new SharedArray('products', () => JSON.parse(open('products.json')));
const csvRows = open('./users.csv').trim().split('\n').length - 1;

export default function () {
  const p = products[exec.vu.idInTest - 1];
  http.get(`${__ENV.TARGET}/echo/k6-data?csv_rows=${csvRows}&product=${p.user}&vu=${exec.vu.idInTest}`);
  check(products, {
    'length and index': (a) => a.length === 3 && a[2].user === 'p-c' && a[3] === undefined,
    'iterable and array methods': (a) => [...a].map((x) => x.user).join() === 'p-a,p-b,p-c' && a.map((x) => x.n ?? 0).join() === '1,2,0',
    'read-only': (a) => {
      try {
        a[0] = 1;
        return false;
      } catch (e) {
        return e instanceof TypeError;
      }
    },
  });
}
