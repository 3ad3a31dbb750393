// The JavaScript SDK for Stampede scenarios: idiomatic helpers over the
// `stampede:scenario` WIT imports, and `defineUser`, which turns a plain user object
// into the `user` export the host calls. Every request is one host call.

import { sendPacked, traceContext } from 'stampede:scenario/http@0.2.0';
import { check as hostCheck } from 'stampede:scenario/checks@0.2.0';
import { nowUs, sleepMs } from 'stampede:scenario/timing@0.2.0';
import { counterAdd, trendAdd, rateAdd, gaugeSet } from 'stampede:scenario/metrics@0.2.0';
import { log as hostLog } from 'stampede:scenario/log@0.2.0';
import { id, iteration, env as hostEnv, scenario } from 'stampede:scenario/vu@0.2.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** A request that got no response: the WIT `http-error`, already recorded by the host. */
export { feeder, readData, DataError } from './data.js';

export class HttpError extends Error {
  constructor(kind, detail) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.name = 'HttpError';
    this.kind = kind;
    this.detail = detail ?? '';
  }
}

/** A task failure with a message (Locust's `response.failure(msg)`). */
export class Failure extends Error {
  constructor(message) {
    super(message);
    this.name = 'Failure';
  }
}

/** Fails the current task with `message`. */
export function fail(message) {
  throw new Failure(message);
}

export class Response {
  constructor(raw, url) {
    this.status = raw.status;
    this.bodySize = Number(raw.bodySize);
    // The host sends it only after redirects; otherwise the request's own URL.
    this.finalUrl = raw.finalUrl ?? url;
    // connect, tls, send, wait, receive, total (µs), as the host packs them.
    const t = raw.timings;
    /** Phases in milliseconds. */
    this.timings = {
      connect: t[0] / 1000,
      tls: t[1] / 1000,
      send: t[2] / 1000,
      wait: t[3] / 1000,
      receive: t[4] / 1000,
      total: t[5] / 1000,
    };
    // Absent (undefined) unless the request asked for them: `name\nvalue\n` per field,
    // split when first read.
    this._head = raw.head ?? '';
    this._headers = undefined;
    this._body = raw.body;
  }

  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** First header with this name (case-insensitive); needs `read: true` or `'headers'`. */
  header(name) {
    if (this._headers === undefined) {
      this._headers = this._head.split('\n');
      this._headers.pop();
    }
    const n = name.toLowerCase();
    const f = this._headers;
    for (let i = 0; i + 1 < f.length; i += 2) {
      if (f[i].toLowerCase() === n) return f[i + 1];
    }
    return undefined;
  }

  get body() {
    if (this._body === undefined) {
      throw new Failure('the response body was not requested: pass { read: true } with the request');
    }
    return this._body;
  }

  text() {
    return decoder.decode(this.body);
  }

  json() {
    const text = this.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Failure(`invalid JSON (status ${this.status}): ${text.slice(0, 200)}`);
    }
  }

  /** The response, unless `predicate(this)` is false: then the task fails with `message`. */
  ensure(predicate, message) {
    if (!predicate(this)) {
      throw new Failure(`${message} (status ${this.status})`);
    }
    return this;
  }

  /** The response, unless its status differs from `status`. */
  expectStatus(status) {
    return this.ensure((r) => r.status === status, `expected status ${status}, got ${this.status}`);
  }
}

/** `application/x-www-form-urlencoded` (also for query strings). */
export function urlencode(pairs) {
  const entries = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  return entries
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`.replace(/%20/g, '+'))
    .join('&');
}

function bytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return encoder.encode(String(data));
}

function concat(chunks) {
  let len = 0;
  for (const c of chunks) len += c.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function contains(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/**
 * `multipart/form-data`: each field is a string, or a file `{ data, filename, type }`.
 * Returns [content type, body].
 */
export function multipart(fields) {
  const parts = Object.entries(fields).map(([name, v]) =>
    typeof v === 'object' && v !== null && 'data' in v
      ? { name, filename: v.filename ?? name, type: v.type ?? 'application/octet-stream', data: bytes(v.data) }
      : { name, data: bytes(v) },
  );
  let boundary;
  do {
    boundary = `----stampede${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`;
  } while (parts.some((p) => contains(p.data, encoder.encode(boundary))));
  const q = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${q(p.name)}"`;
    if (p.filename !== undefined) head += `; filename="${q(p.filename)}"\r\nContent-Type: ${p.type}`;
    chunks.push(encoder.encode(`${head}\r\n\r\n`), p.data, encoder.encode('\r\n'));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  return [`multipart/form-data; boundary=${boundary}`, concat(chunks)];
}

/**
 * One request, one host call. Options: `name` (groups it in metrics), `headers`
 * (object), `query` (object), a body as `json`, `form`, `multipart` or `body`,
 * `bearer` (token), `timeout` (ms), `read` (`true`: copy back the body and headers;
 * `'headers'`: only headers; default: neither, only the size is recorded).
 */
export function request(method, url, opts = {}) {
  const headers = opts.headers ? Object.entries(opts.headers).map(([k, v]) => [k, String(v)]) : [];
  let body = EMPTY;
  const type = (t) => headers.push(['Content-Type', t]);
  if (opts.json !== undefined) {
    body = encoder.encode(JSON.stringify(opts.json));
    type('application/json');
  } else if (opts.form !== undefined) {
    body = encoder.encode(urlencode(opts.form));
    type('application/x-www-form-urlencoded');
  } else if (opts.multipart !== undefined) {
    const [t, b] = multipart(opts.multipart);
    body = b;
    type(t);
  } else if (opts.body !== undefined) {
    body = bytes(opts.body);
  }
  if (opts.bearer) headers.push(['Authorization', `Bearer ${opts.bearer}`]);
  if (opts.query) {
    const qs = urlencode(opts.query);
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  const read = { body: opts.read === true, headers: opts.read === true || opts.read === 'headers' };
  // `trace`: a traceparent on this request whatever --trace-context says (true, or
  // 'sampled' / 'unsampled'), or none (false).
  const trace = opts.trace === undefined ? undefined : opts.trace === true ? 'sampled' : opts.trace === false ? 'off' : opts.trace;
  if (trace !== undefined && !['sampled', 'unsampled', 'off'].includes(trace)) {
    throw new TypeError(`trace: true, false, 'sampled' or 'unsampled', not ${JSON.stringify(opts.trace)}`);
  }
  if (trace) traceContext(trace);
  let raw;
  try {
    raw = sendPacked(
      {
        method,
        url,
        headers,
        body,
        name: opts.name,
        timeoutMs: opts.timeout === undefined ? undefined : Math.max(0, Math.round(opts.timeout)),
        read,
      },
      false,
    );
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === 'object' && 'tag' in p) throw new HttpError(p.tag, p.val);
    throw e;
  } finally {
    if (trace) traceContext('run');
  }
  return new Response(raw, url);
}

export const http = {
  request,
  get: (url, opts) => request('GET', url, opts),
  post: (url, opts) => request('POST', url, opts),
  put: (url, opts) => request('PUT', url, opts),
  patch: (url, opts) => request('PATCH', url, opts),
  delete: (url, opts) => request('DELETE', url, opts),
  head: (url, opts) => request('HEAD', url, opts),
};

/** Records a named pass/fail check; returns `ok`. */
export function check(name, ok) {
  hostCheck(name, Boolean(ok));
  return Boolean(ok);
}

/** Suspends this virtual user for `seconds` (k6's `sleep`). */
export function sleep(seconds) {
  sleepMs(Math.max(0, Math.round(seconds * 1000)));
}

/** Milliseconds since the run started (monotonic). */
export function now() {
  return Number(nowUs()) / 1000;
}

// `process.env` as Node has it, read from the run's --env (the JS runtime has no process
// object of its own): scripts and libraries written for Node find their settings there.
if (typeof globalThis.process === 'undefined') globalThis.process = {};
if (!globalThis.process.env) {
  globalThis.process.env = new Proxy({}, {
    get: (_, key) => (typeof key === 'string' ? hostEnv(key) ?? undefined : undefined),
    has: (_, key) => typeof key === 'string' && hostEnv(key) != null,
  });
}

/** A value passed with `--env KEY=VALUE`, or `fallback`. */
export function env(key, fallback) {
  const v = hostEnv(key);
  return v === undefined || v === null ? fallback : v;
}

export const vu = {
  id: () => id(),
  iteration: () => Number(iteration()),
  scenario: () => scenario(),
};

export const metrics = {
  counter: (name, value = 1) => counterAdd(name, value),
  trend: (name, value) => trendAdd(name, value),
  rate: (name, ok) => rateAdd(name, Boolean(ok)),
  gauge: (name, value) => gaugeSet(name, value),
};

export const log = {
  debug: (msg) => hostLog('debug', String(msg)),
  info: (msg) => hostLog('info', String(msg)),
  warn: (msg) => hostLog('warn', String(msg)),
  error: (msg) => hostLog('error', String(msg)),
};

/** Wait time between tasks, in seconds like Locust's: uniformly between min and max. */
export function between(min, max) {
  return { tag: 'between', val: [Math.round(min * 1000), Math.round(max * 1000)] };
}

/** A fixed wait between tasks, in seconds. */
export function constant(seconds) {
  return { tag: 'constant', val: Math.round(seconds * 1000) };
}

/** A task: `task(3, function browse() { ... })`; the name defaults to the function's. */
export function task(weight, run, name) {
  return { name: name ?? run.name, weight, run };
}

function message(e) {
  if (e instanceof Error) return e.name === 'Failure' || e.name === 'HttpError' ? e.message : `${e.name}: ${e.message}`;
  return String(e);
}

// The host expects `err(string)`; componentize-js takes a thrown object's `payload`. An
// async method's promise is returned, for the host to await: its rejection fails the
// call as an exception would.
function guarded(f) {
  let r;
  try {
    r = f();
  } catch (e) {
    throw { payload: message(e) };
  }
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
    return r.then(
      () => undefined,
      (e) => {
        throw { payload: message(e) };
      },
    );
  }
  return undefined;
}

/**
 * Turns a user object into the scenario's `user` export:
 * `{ waitTime, onStart(), tasks: [task(w, fn)] | { name: [w, fn] }, onStop() }`.
 * Methods run with `this` bound to the user object, which is this VU's own state.
 */
export function defineUser(user) {
  if (!user || typeof user !== 'object') {
    throw new TypeError('the scenario module must export a user object (export default { tasks, ... })');
  }
  const tasks = Array.isArray(user.tasks)
    ? user.tasks
    : Object.entries(user.tasks ?? {}).map(([name, [weight, run]]) => ({ name, weight, run }));
  if (tasks.length === 0) throw new TypeError('the user has no tasks');
  for (const t of tasks) {
    if (typeof t.run !== 'function' || !t.name || !(t.weight >= 0)) {
      throw new TypeError(`task ${JSON.stringify(t.name)} needs a name, a weight >= 0 and a function`);
    }
  }
  return {
    describe() {
      return {
        tasks: tasks.map((t) => ({ name: t.name, weight: t.weight })),
        // A function, so it may read --env: module top-level code runs at build time.
        wait: (typeof user.waitTime === 'function' ? user.waitTime() : user.waitTime) ?? { tag: 'none' },
      };
    },
    onStart() {
      if (user.onStart) return guarded(() => user.onStart());
      return undefined;
    },
    runTask(index) {
      const t = tasks[index];
      if (!t) throw { payload: `no task ${index}` };
      return guarded(() => t.run.call(user));
    },
    onStop() {
      if (user.onStop) return guarded(() => user.onStop());
      return undefined;
    },
  };
}
