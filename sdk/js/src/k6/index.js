// The `k6` module: checks, sleep, groups and fail, on Stampede's host.

import { check as hostCheck } from 'stampede:scenario/checks@0.2.0';
import { sleepMs, nowUs } from 'stampede:scenario/timing@0.2.0';
import { trendAdd } from 'stampede:scenario/metrics@0.2.0';
import { currentGroup, enterGroup, tagNext } from './tags.js';

/**
 * `check(value, { name: fn })`: records each named check (pass when its function returns
 * a truthy value) and returns whether all passed. An exception in a check's function
 * ends the iteration, as in k6. In a group, a check is recorded by k6's path for it,
 * `::group::name`. `tags` are the checks' own (for `checks{myTag:x}` thresholds).
 */
export function check(value, sets, tags) {
  let all = true;
  tagNext(tags);
  const groupPath = currentGroup();
  for (const name in sets) {
    const f = sets[name];
    const ok = Boolean(typeof f === 'function' ? f(value) : f);
    hostCheck(groupPath ? `${groupPath}::${name}` : name, ok);
    if (!ok) all = false;
  }
  return all;
}

/** Suspends this VU for `seconds`. */
export function sleep(seconds) {
  const ms = Math.round(Number(seconds) * 1000);
  sleepMs(Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 0xffff_ffff) : 0);
}

/**
 * Runs `fn` in the group `name` and returns its value: checks in it are named by the
 * group's path, its requests carry it as their `group` tag, and its duration is
 * recorded in `group_duration` and in `group_duration{group:::name}`, as k6 tags it.
 */
export function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError(`group ${JSON.stringify(name)}: the second argument must be a function`);
  name = String(name);
  if (name.includes('::')) throw new Error(`group ${JSON.stringify(name)}: group names may not contain '::'`);
  const outer = currentGroup();
  const groupPath = `${outer}::${name}`;
  enterGroup(groupPath);
  const start = nowUs();
  try {
    return fn();
  } finally {
    const ms = Number(nowUs() - start) / 1000;
    trendAdd('group_duration', ms);
    trendAdd(`group_duration{group:${groupPath}}`, ms);
    enterGroup(outer);
  }
}

/** Ends this iteration with `message`, as k6's `fail` does. */
export function fail(message) {
  throw new Error(message === undefined ? 'fail() called' : String(message));
}

/**
 * `randomSeed(n)`: from here on, `Math.random()` in this VU draws a sequence fixed by `n`
 * (the same on every run and in every VU seeded alike; not Go's sequence, so not the
 * numbers k6 itself draws).
 */
export function randomSeed(seed) {
  const n = Number(seed);
  if (!Number.isFinite(n)) throw new TypeError(`randomSeed: ${String(seed)} is not a number`);
  // SplitMix32 over the seed's low and high 32 bits: small, fast in an interpreter,
  // and every seed gives a sequence of its own.
  let state = (Math.trunc(n) >>> 0) ^ Math.imul(Math.trunc(n / 4294967296) >>> 0, 0x9e3779b9);
  Math.random = function random() {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export default { check, sleep, group, fail, randomSeed };
