// The `k6` module: checks, sleep, groups and fail, on Stampede's host.

import { check as hostCheck } from 'stampede:scenario/checks@0.2.0';
import { sleepMs } from 'stampede:scenario/timing@0.2.0';

/**
 * `check(value, { name: fn })`: records each named check (pass when its function returns
 * a truthy value) and returns whether all passed. An exception in a check's function
 * ends the iteration, as in k6.
 */
export function check(value, sets, _tags) {
  let all = true;
  for (const [name, f] of Object.entries(sets ?? {})) {
    const ok = Boolean(typeof f === 'function' ? f(value) : f);
    hostCheck(name, ok);
    if (!ok) all = false;
  }
  return all;
}

/** Suspends this VU for `seconds`. */
export function sleep(seconds) {
  const ms = Math.round(Number(seconds) * 1000);
  sleepMs(Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 0xffff_ffff) : 0);
}

/** Runs `fn` and returns its value. */
export function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError(`group ${JSON.stringify(name)}: the second argument must be a function`);
  return fn();
}

/** Ends this iteration with `message`, as k6's `fail` does. */
export function fail(message) {
  throw new Error(message === undefined ? 'fail() called' : String(message));
}

/** `randomSeed(n)`: Stampede leaves Math.random to the JS engine (each VU draws its own). */
export function randomSeed(_seed) {}

export default { check, sleep, group, fail, randomSeed };
