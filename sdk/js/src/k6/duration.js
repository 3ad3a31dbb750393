// k6's durations ("30s", "1m30s", "500ms", "1.5h"; a bare number is milliseconds).

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, us: 0.001, µs: 0.001, ns: 0.000001 };

/** Milliseconds of a k6 duration; `what` names the field in the error. */
export function parseDuration(v, what) {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const s = String(v).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let at = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    at = re.lastIndex;
  }
  if (at === 0 || at !== s.length) {
    throw new TypeError(`${what}: ${JSON.stringify(v)} is not a duration (such as "30s", "1m30s" or "500ms")`);
  }
  return total;
}
