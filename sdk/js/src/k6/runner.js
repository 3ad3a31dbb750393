// Runs a k6 script on the stampede:scenario lifecycle. As in k6, the script's init code
// (its top level: imports, options, `open()`, `__ENV` reads) runs in each VU when the VU
// starts, not at build time; each host iteration is one call of the default function;
// `setup()` runs once per run and its data (JSON) reaches every iteration; `teardown`
// gets it at the end; `options` is handed to the host before it plans the run.

import { env as hostEnv, id, iteration, setupData } from 'stampede:scenario/vu@0.2.0';

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

const ENV = new Proxy(
  {},
  {
    get: (_, key) => (typeof key === 'string' ? hostEnv(key) ?? undefined : undefined),
    has: (_, key) => typeof key === 'string' && hostEnv(key) != null,
    set: () => {
      throw new TypeError('__ENV is read-only here: pass values with --env KEY=VALUE');
    },
  },
);

/**
 * The `user` and `run` exports for a k6 script. `load` evaluates the script (its init
 * code) and returns its exports; `files` are the files its `open()` calls name, read
 * when it was built.
 */
export function defineK6(load, files) {
  let mod;
  let data;
  let dataRead = false;

  function init() {
    if (mod) return mod;
    Object.defineProperty(globalThis, '__ENV', { value: ENV, configurable: true });
    Object.defineProperty(globalThis, '__VU', { get: () => id(), configurable: true });
    Object.defineProperty(globalThis, '__ITER', { get: () => Number(iteration()), configurable: true });
    globalThis.open = (path, mode) => {
      const f = files[path] ?? files[String(path).replace(/^\.\//, '')];
      if (f === undefined) {
        throw new Error(`open(${JSON.stringify(path)}): only files named by a literal path in the script are bundled when it is built`);
      }
      return mode === 'b' ? f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) : new TextDecoder().decode(f);
    };
    mod = guarded('init code', load);
    if (typeof mod.default !== 'function') {
      throw { payload: 'the k6 script has no default function: export default function () { ... }' };
    }
    return mod;
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
      init();
      return { tasks: [{ name: 'default', weight: 1 }], wait: { tag: 'none' } };
    },
    onStart() {
      init();
    },
    runTask(_index) {
      const m = init();
      const d = dataOf();
      guarded('', () => m.default(d));
    },
    onStop() {},
  };

  const run = {
    setup() {
      const m = init();
      if (typeof m.setup !== 'function') return undefined;
      const d = guarded('setup', () => m.setup());
      if (d === undefined) return undefined;
      return guarded('setup', () => JSON.stringify(sortedKeys(d)));
    },
    options() {
      const m = init();
      if (m.options === undefined || m.options === null) return undefined;
      return guarded('options', () => JSON.stringify(m.options));
    },
    teardown(raw) {
      const m = init();
      if (typeof m.teardown !== 'function') return;
      const d = raw === undefined || raw === null ? undefined : JSON.parse(raw);
      guarded('teardown', () => m.teardown(d));
    },
  };

  return { user, run };
}
