// Test data from the run's data directory (`--data`), parsed once per run on the host
// and shared by every VU: a feeder copies in only the row it hands out.

import { table, nextRow, row as hostRow, read as hostRead } from 'stampede:scenario/data@0.2.0';

const ORDERS = ['sequential', 'circular', 'random', 'unique'];
const decoder = new TextDecoder();

/** No row for this call (`exhausted`), or no such file, no `--data` (`invalid`). */
export class DataError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'DataError';
    this.kind = kind;
  }
}

function call(f) {
  try {
    return f();
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === 'object' && 'tag' in p) throw new DataError(p.tag, p.val);
    throw e;
  }
}

/**
 * Hands out the rows of `file` (a CSV file with a header line, or a JSON array of
 * objects) as objects keyed by column: `order` is `sequential` (each row once, across
 * the run's VUs), `circular`, `random` or `unique` (one row of its own per VU).
 */
export function feeder(file, order = 'sequential') {
  if (!ORDERS.includes(order)) {
    throw new TypeError(`feeder(${JSON.stringify(file)}): order must be one of ${ORDERS.join(', ')}`);
  }
  let info;
  const describe = () => (info ??= call(() => table(file)));
  const toRow = (cells) => {
    const { columns, json } = describe();
    const out = {};
    columns.forEach((c, i) => {
      out[c] = json ? JSON.parse(cells[i]) : cells[i];
    });
    return out;
  };
  return {
    next: () => toRow(call(() => nextRow(file, order))),
    row: (i) => toRow(call(() => hostRow(file, BigInt(i)))),
    get length() {
      return Number(describe().rows);
    },
    get columns() {
      return [...describe().columns];
    },
  };
}

/** A whole file of the data directory: text, or bytes with `'b'` (k6's `open`). */
export function readData(file, mode) {
  const bytes = call(() => hostRead(file));
  return mode === 'b' ? bytes : decoder.decode(bytes);
}
