// Runs a k6 script on the stampede:scenario lifecycle. As in k6, the script's init code
// (its top level: imports, options, `open()`, `__ENV` reads) runs in each VU when the VU
// starts, not at build time; each host iteration is one call of the default function;
// `setup()` runs once per run and its data (JSON) reaches every iteration; `teardown`
// gets it at the end; `options` is handed to the host before it plans the run.

import { env as hostEnv, id, iteration, scenario, setupData } from 'stampede:scenario/vu@0.2.0';
import { scenarioExecutor } from './execution.js';
import { readData, DataError } from '../data.js';
import { forgetTags } from './tags.js';
import { setBatchLimits } from './http.js';

// An async function's outcome as the host expects it: a rejection becomes `err`.
function settled(what, r, then) {
  if (r === null || typeof r !== 'object' || typeof r.then !== 'function') return then(r);
  return r.then(then, (e) => {
    throw { payload: what ? `${what}: ${message(e)}` : message(e) };
  });
}

function message(e) {
  if (e instanceof Error) return e.name === 'Error' ? e.message : `${e.name}: ${e.message}`;
  return String(e);
}

// The host expects `err(string)`; componentize-js takes a thrown object's `payload`.
function guarded(what, f) {
  try {
    return f();
  } catch (e) {
    throw { payload: what ? `${what}: ${message(e)}` : message(e) };
  }
}

// k6 hands setup's data over as Go encodes it: object keys sorted.
function sortedKeys(v) {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = sortedKeys(v[k]);
    return out;
  }
  return v;
}

// --env values do not change during a run: each is asked of the host once (a host call
// costs the interpreter microseconds, and scripts read __ENV in every iteration).
const envSeen = new Map();
function envOf(key) {
  let v = envSeen.get(key);
  if (v === undefined && !envSeen.has(key)) {
    v = hostEnv(key) ?? undefined;
    envSeen.set(key, v);
  }
  return v;
}

const ENV = new Proxy(
  {},
  {
    get: (_, key) => (typeof key === 'string' ? envOf(key) : undefined),
    has: (_, key) => typeof key === 'string' && envOf(key) !== undefined,
    set: () => {
      throw new TypeError('__ENV is read-only here: pass values with --env KEY=VALUE');
    },
  },
);

// The function each of the script's scenarios runs (`exec`, else `default`); an `exec`
// the script does not export is an error when the options are read, before any load.
function execs(m) {
  const out = {};
  const list = m.options && typeof m.options === 'object' ? m.options.scenarios : undefined;
  if (!list || typeof list !== 'object') return out;
  for (const [name, s] of Object.entries(list)) {
    const exec = s && s.exec !== undefined ? String(s.exec) : 'default';
    if (typeof m[exec] !== 'function') {
      throw new Error(`options.scenarios.${name}.exec: the script exports no function ${JSON.stringify(exec)}`);
    }
    out[name] = { exec, f: m[exec], executor: s.executor };
  }
  return out;
}

/**
 * The `user` and `run` exports for a k6 script. `load` evaluates the script (its init
 * code) and returns its exports; `files` are the files its `open()` calls name, read
 * when it was built.
 */
export function defineK6(load, files) {
  let mod;
  let iterate;
  let iterateName = 'default';
  let data;
  let dataRead = false;
  let initError;

  // Init code, once per instance. A failure is kept and thrown again by each export
  // that can return it (describe cannot: on-start, options or setup say it).
  function init() {
    if (mod) return mod;
    if (initError) throw initError;
    try {
      return initOnce();
    } catch (e) {
      initError = e;
      throw e;
    }
  }

  function initOnce() {
    Object.defineProperty(globalThis, '__ENV', { value: ENV, configurable: true });
    let vu;
    Object.defineProperty(globalThis, '__VU', { get: () => (vu ??= id()), configurable: true });
    Object.defineProperty(globalThis, '__ITER', { get: () => Number(iteration()), configurable: true });
    // The run's data directory (--data) first, then the files bundled at build.
    globalThis.open = (path, mode) => {
      let f;
      try {
        f = readData(String(path), 'b');
      } catch (e) {
        if (!(e instanceof DataError) || e.kind !== 'invalid') throw e;
        f = files[path] ?? files[String(path).replace(/^\.\//, '')];
        if (f === undefined) {
          throw new Error(`open(${JSON.stringify(path)}): ${e.message}; nor was it bundled (files named by a literal path beside the script, up to 16 MiB, are)`);
        }
      }
      return mode === 'b' ? f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) : new TextDecoder().decode(f);
    };
    const m = guarded('init code', load);
    setBatchLimits(m.options);
    // This VU's scenario: one of the script's own (by name), or the run's single one.
    const own = guarded('', () => execs(m))[scenario()];
    if (own) {
      [iterate, iterateName] = [own.f, own.exec];
      scenarioExecutor(own.executor);
    } else {
      iterate = m.default;
    }
    mod = m;
    return mod;
  }

  // What a VU's iteration calls: needed by the VUs only, not by options, setup or
  // teardown (a script whose scenarios all name their `exec` needs no default).
  function task() {
    init();
    if (typeof iterate !== 'function') {
      throw { payload: 'the k6 script has no default function: export default function () { ... }' };
    }
    return iterate;
  }

  function dataOf() {
    if (!dataRead) {
      const raw = setupData();
      data = raw === undefined || raw === null ? undefined : JSON.parse(raw);
      dataRead = true;
    }
    return data;
  }

  const user = {
    describe() {
      try {
        init();
      } catch {
        // Said by on-start, options or setup, which can return it.
      }
      return { tasks: [{ name: iterateName, weight: 1 }], wait: { tag: 'none' } };
    },
    onStart() {
      forgetTags();
      task();
    },
    runTask(_index) {
      forgetTags();
      const f = task();
      const d = dataOf();
      // An async default function is awaited (the host drives the job queue).
      return settled('', guarded('', () => f(d)), () => undefined);
    },
    onStop() {},
  };

  const run = {
    setup() {
      forgetTags();
      const m = init();
      if (typeof m.setup !== 'function') return undefined;
      return settled('setup', guarded('setup', () => m.setup()), (d) => {
        if (d === undefined) return undefined;
        return guarded('setup', () => JSON.stringify(sortedKeys(d)));
      });
    },
    options() {
      const m = init();
      if (m.options === undefined || m.options === null) return undefined;
      return guarded('options', () => JSON.stringify(m.options));
    },
    teardown(raw) {
      forgetTags();
      const m = init();
      if (typeof m.teardown !== 'function') return;
      const d = raw === undefined || raw === null ? undefined : JSON.parse(raw);
      return settled('teardown', guarded('teardown', () => m.teardown(d)), () => undefined);
    },
  };

  // `handleSummary(data)`, once after the run: what it returns, as pairs of a
  // destination and its text.
  const summary = {
    handle(raw) {
      const m = init();
      if (typeof m.handleSummary !== 'function') return [];
      const data = JSON.parse(raw);
      thresholdsAsWritten(data, m.options);
      return settled('handleSummary', guarded('handleSummary', () => m.handleSummary(data)), outputsOf);
    },
  };

  return { user, run, summary };
}

// A threshold rule's meaning, for matching the host's canonical form of it with the
// script's own text: its aggregation, operator and bound (in ms when it has a unit).
const UNITS = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };
function ruleKey(rule) {
  const m = /^\s*([a-z_]+(?:\([^)]*\))?)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9.]+)\s*([a-zµ]*)\s*$/.exec(String(rule));
  if (!m) return undefined;
  const scale = m[4] ? UNITS[m[4]] : 1;
  if (scale === undefined) return undefined;
  return `${m[1]}${m[2]}${Number(m[3]) * scale}`;
}

// The data's thresholds keyed as the script wrote them (`p(95)<500`, `avg<2s`), where
// the host names them in its canonical form (`p(95)<500ms`, `avg<2000ms`).
export function thresholdsAsWritten(data, options) {
  const given = options && typeof options === 'object' ? options.thresholds : undefined;
  if (!given || typeof given !== 'object' || !data || !data.metrics) return;
  for (const [metric, rules] of Object.entries(given)) {
    const held = data.metrics[metric] && data.metrics[metric].thresholds;
    if (!held) continue;
    const byKey = new Map(Object.keys(held).map((k) => [ruleKey(k), k]));
    const out = {};
    for (const r of Array.isArray(rules) ? rules : [rules]) {
      const text = typeof r === 'string' ? r : r && r.threshold;
      const ours = byKey.get(ruleKey(text));
      if (text === undefined || ours === undefined) continue;
      out[text] = held[ours];
      byKey.delete(ruleKey(text));
    }
    // Rules the script did not write (from --threshold) keep the host's names.
    for (const k of byKey.values()) out[k] = held[k];
    data.metrics[metric].thresholds = out;
  }
}

// What handleSummary returned ({ stdout: '...', 'out/summary.json': '...' }) as the
// host takes it; bytes are read as UTF-8 text.
function outputsOf(out) {
  if (out === undefined || out === null) return [];
  if (typeof out !== 'object') {
    throw { payload: `handleSummary: returned ${typeof out}, not an object of destinations to text` };
  }
  const decoder = new TextDecoder();
  return Object.entries(out).map(([to, v]) => {
    if (v instanceof ArrayBuffer) return [to, decoder.decode(new Uint8Array(v))];
    if (ArrayBuffer.isView(v)) return [to, decoder.decode(v)];
    return [to, String(v)];
  });
}
