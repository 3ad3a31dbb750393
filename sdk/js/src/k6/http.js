// `k6/http` on Stampede's host client: k6's arguments and response, one host call per
// request. Connections, the VU's cookie jar, redirects and content codings are the
// host's; a request is failed by k6's rule (a status outside 200-399, or the response
// callback's) and recorded by the host.

import { sendPacked, sendBatch, settle, followRedirects, traceContext, cookiesFor, setCookie as hostSetCookie, clearCookies } from 'stampede:scenario/http@0.2.0';
import { multipart } from '../index.js';
import { parseDuration } from './duration.js';
import { tagNext, tagsFor } from './tags.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const READ = { body: true, headers: true };
const READ_HEADERS = { body: false, headers: true };
const NO_PARAMS = Object.freeze({});

// k6's error codes for a request that got no response (k6 docs, "Error codes").
const ERROR_CODES = {
  'invalid-url': 1020,
  denied: 1110,
  dns: 1100,
  connect: 1210, // 1212 when refused, 1211 when the dial timed out (below)
  tls: 1300,
  timeout: 1050,
  protocol: 1000,
  'too-large': 1000,
};

/** `http.file(data, filename, contentType)`: one part of a multipart body. */
export function file(data, filename, contentType) {
  return new FileData(data, filename, contentType);
}

class FileData {
  constructor(data, filename, contentType) {
    this.data = data;
    this.filename = filename ?? 'file';
    this.content_type = contentType ?? 'application/octet-stream';
  }
}

/** `` http.url`/items/${id}` ``: the URL, named by its template so one metric groups them. */
export function url(strings, ...values) {
  let name = strings[0];
  let full = strings[0];
  values.forEach((v, i) => {
    name += '${}' + strings[i + 1];
    full += String(v) + strings[i + 1];
  });
  return new UrlTemplate(full, name);
}

class UrlTemplate {
  constructor(url, name) {
    this.url = url;
    this.name = name;
  }

  toString() {
    return this.url;
  }
}

/** `http.expectedStatuses(200, {min: 300, max: 399})`: a response callback. */
export function expectedStatuses(...specs) {
  for (const s of specs) {
    if (!(Number.isInteger(s) || (s && Number.isInteger(s.min) && Number.isInteger(s.max)))) {
      throw new TypeError('http.expectedStatuses: give status codes or {min, max} ranges');
    }
  }
  const cb = (res) => specs.some((s) => (Number.isInteger(s) ? res.status === s : res.status >= s.min && res.status <= s.max));
  cb.statuses = specs;
  return cb;
}

// undefined: k6's default rule (the host's: a status outside 200-399 fails).
let defaultCallback;
// k6's `null` callback: no request is marked failed.
const NEVER_FAILED = () => true;

/** `http.setResponseCallback(cb)`: which statuses count as expected (not failed). */
export function setResponseCallback(cb) {
  defaultCallback = cb === null ? NEVER_FAILED : cb;
}

// Go's canonical header key, which k6's `res.headers` uses: content-type -> Content-Type.
function canonical(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());
}

function setCookie(v) {
  const [pair, ...attrs] = v.split(';');
  const eq = pair.indexOf('=');
  if (eq < 0) return null;
  const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), domain: '', path: '', http_only: false, secure: false, max_age: 0, expires: 0 };
  for (const a of attrs) {
    const [k, ...rest] = a.split('=');
    const key = k.trim().toLowerCase();
    const val = rest.join('=').trim();
    if (key === 'domain') c.domain = val;
    else if (key === 'path') c.path = val;
    else if (key === 'httponly') c.http_only = true;
    else if (key === 'secure') c.secure = true;
    else if (key === 'max-age') c.max_age = Number(val) || 0;
    else if (key === 'expires') c.expires = Date.parse(val) || 0;
  }
  return c;
}

// The host's packed head (`name\nvalue\n` per field) as [name, value, name, ...]: one
// string crosses the boundary, split only when a script reads the headers.
function fields(head) {
  if (!head) return [];
  const f = head.split('\n');
  f.pop();
  return f;
}

// The parts of a response k6 scripts read, made when first read: most scripts read
// the status and a check's worth, and the interpreter pays for every property made.
export class Response {
  constructor(raw, sent, responseType, error) {
    this._raw = raw;
    this._sent = sent;
    this._type = responseType;
    this._error = error;
    this.status = raw ? raw.status : 0;
    this._request = undefined;
    this._timings = undefined;
    this._headers = undefined;
    this._cookies = undefined;
    this._body = undefined;
    this._json = undefined;
  }

  get request() {
    if (this._request === undefined) {
      const s = this._sent;
      this._request = { method: s.method, url: s.url, headers: s.params.headers ?? {}, body: s.body ?? null };
    }
    return this._request;
  }

  get url() {
    return this._raw?.finalUrl ?? this._sent.url;
  }

  get proto() {
    return this._raw ? 'HTTP/1.1' : '';
  }

  get error() {
    return this._error ? this._error.message : '';
  }

  get error_code() {
    return this._error ? this._error.code : 0;
  }

  get timings() {
    if (this._timings === undefined) {
      // connect, tls, send, wait, receive, total (µs): the host's packed timings.
      const t = this._raw?.timings;
      const ms = (i) => (t ? t[i] / 1000 : 0);
      this._timings = {
        blocked: 0,
        connecting: ms(0),
        tls_handshaking: ms(1),
        sending: ms(2),
        waiting: ms(3),
        receiving: ms(4),
        duration: ms(2) + ms(3) + ms(4),
      };
    }
    return this._timings;
  }

  get headers() {
    if (this._headers === undefined) {
      const h = {};
      const f = fields(this._raw?.head);
      for (let i = 0; i + 1 < f.length; i += 2) {
        const c = canonical(f[i]);
        h[c] = c in h ? `${h[c]}, ${f[i + 1]}` : f[i + 1];
      }
      this._headers = h;
    }
    return this._headers;
  }

  get cookies() {
    if (this._cookies === undefined) {
      const out = {};
      const f = fields(this._raw?.head);
      for (let i = 0; i + 1 < f.length; i += 2) {
        if (f[i].length === 10 && f[i].toLowerCase() === 'set-cookie') {
          const c = setCookie(f[i + 1]);
          if (c) (out[c.name] ??= []).push(c);
        }
      }
      this._cookies = out;
    }
    return this._cookies;
  }

  get body() {
    if (this._body === undefined) {
      const b = this._raw?.body;
      if (this._type === 'none' || !this._raw) this._body = null;
      else if (this._type === 'binary') this._body = b ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : new ArrayBuffer(0);
      else this._body = b ? decoder.decode(b) : '';
    }
    return this._body;
  }

  get status_text() {
    return this.status ? `${this.status}` : '';
  }

  /**
   * The body as JSON; with a selector (`items.0.id`, `items.#`), that part of it. As in
   * k6, every call returns values of its own. The parsed body is kept while only plain
   * values (numbers, strings, ...) were read from it, so `json('items.#')` then
   * `json('items')` parse once; an object or array handed out is the script's to change,
   * so the next call parses again.
   */
  json(selector) {
    let v = this._json;
    if (v === undefined) {
      const body = this.body;
      if (body === null) throw new Error('the response has no body (responseType: "none")');
      v = JSON.parse(typeof body === 'string' ? body : decoder.decode(body));
    }
    const out = selector === undefined ? v : select(v, selector);
    this._json = out !== null && typeof out === 'object' ? undefined : v;
    return out;
  }

  html() {
    throw new Error('Response.html() is not supported by Stampede: parse res.body, or use res.json()');
  }

  submitForm() {
    throw new Error('Response.submitForm() is not supported by Stampede');
  }

  clickLink() {
    throw new Error('Response.clickLink() is not supported by Stampede');
  }
}

// The part of gjson's path syntax scripts use: dotted keys, array indexes and `#` (length).
function select(v, path) {
  let cur = v;
  for (const part of String(path).split('.')) {
    if (cur === undefined || cur === null) return undefined;
    if (part === '#' && Array.isArray(cur)) cur = cur.length;
    else cur = cur[part];
  }
  return cur;
}

// The bytes of a request body; the content type it implies, if any, in `bodyType`.
let bodyType;
function bodyOf(body) {
  bodyType = undefined;
  if (body === undefined || body === null) return EMPTY;
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'object') {
    const entries = Object.entries(body);
    if (entries.some(([, v]) => v instanceof FileData)) {
      const fields = {};
      for (const [k, v] of entries) {
        fields[k] = v instanceof FileData ? { data: v.data, filename: v.filename, type: v.content_type } : String(v);
      }
      const parts = multipart(fields);
      bodyType = parts[0];
      return parts[1];
    }
    bodyType = 'application/x-www-form-urlencoded';
    return encoder.encode(formOf(entries));
  }
  return encoder.encode(String(body));
}

// A form as k6 (Go's url.Values) encodes it: keys sorted, and every byte but letters,
// digits and `-_.~` escaped (encodeURIComponent leaves `!'()*` as they are).
function formOf(entries) {
  const esc = (v) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return entries
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [String(k), String(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${esc(k)}=${esc(v)}`.replace(/%20/g, '+'))
    .join('&');
}

function timeoutMs(t) {
  if (t === undefined || t === null) return undefined;
  const ms = typeof t === 'number' ? t : parseDuration(t, 'params.timeout');
  return Math.max(0, Math.round(ms));
}

function cookieHeader(cookies) {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v !== null && typeof v === 'object' ? v.value : v}`)
    .join('; ');
}

// http://user:pass@host/: k6's basic auth; the URL without its credentials, and the
// Authorization value in `authValue`.
let authValue;
function basicAuth(u) {
  authValue = undefined;
  if (u.indexOf('@') < 0) return u;
  const m = /^(https?:\/\/)([^/@]+)@(.*)$/.exec(u);
  if (!m) return u;
  authValue = `Basic ${btoa(decodeURIComponent(m[2]))}`;
  return m[1] + m[3];
}

class HttpError extends Error {
  constructor(kind, detail) {
    super(detail ? `${kind}: ${detail}` : kind);
    let code = ERROR_CODES[kind] ?? 1000;
    const d = String(detail ?? '').toLowerCase();
    if (kind === 'connect' && d.includes('refused')) code = 1212;
    else if (kind === 'connect' && d.includes('timed out')) code = 1211;
    else if (kind === 'protocol' && d.includes('reset')) code = 1220;
    this.code = code;
  }
}

// `k6/experimental/tracing`'s instrumentHTTP: a W3C traceparent on this VU's requests,
// sampled with this probability.
let tracing;
export function instrument(sampling) {
  tracing = { sampling };
}

// k6's request arguments as the host's request; `params` with it, for the response.
function build(method, target, body, params) {
  let u = target instanceof UrlTemplate ? target.url : String(target);
  let name = params.tags?.name ?? (target instanceof UrlTemplate ? target.name : undefined);
  if (params.jar !== undefined && params.jar !== null && params.jar !== vuJar) {
    throw new Error('params.jar: Stampede sends each VU\'s one jar (http.cookieJar()); a jar of your own is not supported');
  }
  if (params.auth && params.auth !== 'basic') {
    throw new Error(`params.auth "${params.auth}" is not supported by Stampede: only basic (credentials in the URL)`);
  }
  u = basicAuth(u);
  const auth = authValue;
  const headers = [];
  let hasType = false;
  const given = params.headers;
  if (given) {
    for (const k in given) {
      const v = given[k];
      if (v === undefined || v === null) continue;
      if (k.length === 12 && k.toLowerCase() === 'content-type') hasType = true;
      headers.push([k, String(v)]);
    }
  }
  const bytes = bodyOf(body);
  const type = bodyType;
  if (type && !hasType) headers.push(['Content-Type', type]);
  if (auth) headers.push(['Authorization', auth]);
  if (params.cookies) headers.push(['Cookie', cookieHeader(params.cookies)]);
  const responseType = params.responseType ?? 'text';
  return {
    method: method.toUpperCase(),
    url: u,
    headers,
    body: bytes,
    name,
    timeoutMs: params.timeout === undefined ? undefined : timeoutMs(params.timeout),
    read: responseType === 'none' ? READ_HEADERS : READ,
  };
}

// The response callback that judges a request, or null: the host's k6 rule.
function callbackOf(params) {
  const callback = params.responseCallback !== undefined ? params.responseCallback : defaultCallback;
  return callback === null ? NEVER_FAILED : callback;
}

// A host http-error, thrown by componentize-js as an object with a payload.
function httpError(e) {
  const p = e && e.payload;
  if (!(p && typeof p === 'object' && 'tag' in p)) throw e;
  return new HttpError(p.tag, p.val);
}

// The host's answer as k6's response; settles it by `callback` when it was deferred.
function respond(raw, error, req, params, body, callback) {
  const responseType = params.responseType ?? 'text';
  // What was sent, made into k6's `res.request` only if read.
  const res = new Response(raw, { method: req.method, url: req.url, params, body }, responseType, error);
  if (callback && raw) {
    const ok = Boolean(callback(res));
    settle(ok, ok ? undefined : `status ${res.status} not expected by the response callback`);
  }
  return res;
}

/** `http.request(method, url, body, params)`: one request, one host call. */
export function request(method, target, body, params) {
  params ??= NO_PARAMS;
  const req = build(method, target, body, params);
  const callback = callbackOf(params);
  tagNext(params.tags);
  const noFollow = params.redirects === 0;
  if (noFollow) followRedirects(false);
  if (tracing) traceContext(Math.random() < tracing.sampling ? 'sampled' : 'unsampled');
  let raw;
  let error;
  try {
    raw = sendPacked(req, Boolean(callback));
  } catch (e) {
    error = httpError(e);
  } finally {
    if (noFollow) followRedirects(true);
    if (tracing) traceContext('run');
  }
  return respond(raw, error, req, params, body, callback);
}

export const get = (u, params) => request('GET', u, null, params);
export const head = (u, params) => request('HEAD', u, null, params);
export const post = (u, body, params) => request('POST', u, body, params);
export const put = (u, body, params) => request('PUT', u, body, params);
export const patch = (u, body, params) => request('PATCH', u, body, params);
export const del = (u, body, params) => request('DELETE', u, body, params);
export const options = (u, body, params) => request('OPTIONS', u, body, params);

// k6's defaults for how many of a batch's requests are in flight at once (`batch`,
// `batchPerHost`); the script's options set them (`setBatchLimits`).
const limits = { parallel: 20, perHost: 6 };

/** From the script's `options`: its `batch` and `batchPerHost`, as the host checked them. */
export function setBatchLimits(options) {
  if (!options || typeof options !== 'object') return;
  if (Number.isInteger(options.batch) && options.batch > 0) limits.parallel = options.batch;
  if (Number.isInteger(options.batchPerHost) && options.batchPerHost > 0) limits.perHost = options.batchPerHost;
}

// One `http.batch` entry as k6 takes it: a URL, an array `[method, url, body, params]`
// or an object `{method, url, body, params}`.
function entry(r) {
  if (typeof r === 'string' || r instanceof UrlTemplate) return ['GET', r, null, NO_PARAMS];
  if (Array.isArray(r)) return [r[0], r[1], r[2] ?? null, r[3] ?? NO_PARAMS];
  if (r && typeof r === 'object') return [r.method ?? 'GET', r.url, r.body ?? null, r.params ?? NO_PARAMS];
  throw new TypeError(`http.batch: a request is a URL, an array or an object, not ${typeof r}`);
}

// One request of a batch, built from k6's arguments: what `sendAll` sends. Its tags are
// taken when it is built (the group being run then).
function batchItem(method, target, body, params) {
  const req = build(method, target, body, params);
  return { req, body, params, callback: callbackOf(params), tags: tagsFor(params.tags) };
}

// Sends built requests at once (`http.send-batch`); their responses, in order.
function sendAll(built, within, what) {
  const items = built.map(({ req, params, callback, tags }) => ({
    request: req,
    deferred: Boolean(callback),
    followRedirects: params.redirects !== 0,
    // Always a list: the VU's tags are whatever its last request or check held.
    tags: tags ?? [],
  }));
  if (tracing) traceContext(Math.random() < tracing.sampling ? 'sampled' : 'unsampled');
  let answers;
  try {
    answers = sendBatch(items, within);
  } catch (e) {
    const why = e && typeof e.payload === 'string' ? e.payload : String(e);
    throw new TypeError(`${what}: ${why}`);
  } finally {
    if (tracing) traceContext('run');
  }
  // The host settles a batch's deferred requests latest first.
  const out = new Array(built.length);
  for (let i = built.length - 1; i >= 0; i--) {
    const { req, body, params, callback } = built[i];
    const a = answers[i];
    const raw = a.tag === 'ok' ? a.val : undefined;
    const error = a.tag === 'err' ? new HttpError(a.val.tag, a.val.val) : undefined;
    out[i] = respond(raw, error, req, params, body, callback);
  }
  return out;
}

/**
 * `http.batch(requests)`: the requests in flight at once, each on a connection of its
 * own, as many as `batch` and `batchPerHost` allow; the responses in the same shape
 * (an array, or an object by the same keys).
 */
export function batch(requests) {
  const keys = Array.isArray(requests) ? null : Object.keys(requests ?? {});
  const list = keys ? keys.map((k) => requests[k]) : requests;
  const built = list.map((r) => batchItem(...entry(r)));
  const out = sendAll(built, limits, 'http.batch');
  if (!keys) return out;
  const byKey = {};
  keys.forEach((k, i) => {
    byKey[k] = out[i];
  });
  return byKey;
}

// What `asyncRequest` has queued since the script last yielded to the job queue.
let queued = null;
// k6 bounds no number of async requests; the host bounds a VU's at once.
const ASYNC_LIMITS = { parallel: 64, perHost: 64 };

/**
 * `http.asyncRequest(method, url, body, params)`: a promise of the response. The requests
 * a script starts before it awaits (`Promise.all([...])`) go out at once, as one batch
 * (at most 64 at a time); each promise settles when that batch is done.
 */
export function asyncRequest(method, target, body, params) {
  return new Promise((resolve, reject) => {
    let item;
    try {
      item = batchItem(method, target, body ?? null, params ?? NO_PARAMS);
    } catch (e) {
      reject(e);
      return;
    }
    if (queued === null) {
      queued = [];
      Promise.resolve().then(flushAsync);
    }
    queued.push({ item, resolve, reject });
  });
}

// Sends what `asyncRequest` queued: one request alone, several as one batch.
function flushAsync() {
  const q = queued;
  queued = null;
  let out;
  try {
    out = sendAll(
      q.map((x) => x.item),
      ASYNC_LIMITS,
      'http.asyncRequest',
    );
  } catch (e) {
    for (const x of q) x.reject(e);
    return;
  }
  q.forEach((x, i) => x.resolve(out[i]));
}

// A host call's error (an http-error variant) as a thrown Error naming what failed.
function jarCall(what, f) {
  try {
    return f();
  } catch (e) {
    const p = e && e.payload;
    if (!(p && typeof p === 'object' && 'tag' in p)) throw e;
    throw new Error(`${what}: ${p.val ?? p.tag}`);
  }
}

/**
 * The VU's cookie jar, which the host keeps: the cookies servers set and those set
 * here are sent on every request they match.
 */
export class CookieJar {
  constructor(token) {
    if (token !== VU_JAR) {
      throw new Error('new http.CookieJar() is not supported by Stampede: each VU has one jar, the host\'s; use http.cookieJar()');
    }
  }

  /** `{ name: [value, ...] }` of the cookies sent to `url`. */
  cookiesForURL(url) {
    const out = {};
    for (const [n, v] of jarCall(`cookiesForURL(${JSON.stringify(String(url))})`, () => cookiesFor(String(url)))) {
      (out[n] ??= []).push(v);
    }
    return out;
  }

  /** Sets a cookie as if `url` had: options `domain`, `path`, `expires`, `max_age`, `secure`, `http_only`. */
  set(url, name, value, options = {}) {
    let c = `${name}=${value}`;
    const o = options ?? {};
    if (o.domain) c += `; Domain=${o.domain}`;
    if (o.path) c += `; Path=${o.path}`;
    if (o.expires) c += `; Expires=${o.expires}`;
    if (o.max_age !== undefined && o.max_age !== null) c += `; Max-Age=${Math.trunc(Number(o.max_age))}`;
    if (o.secure) c += '; Secure';
    if (o.http_only) c += '; HttpOnly';
    jarCall(`cookie jar set(${JSON.stringify(String(name))})`, () => hostSetCookie(String(url), c));
  }

  /** Removes the cookies sent to `url`. */
  clear(url) {
    jarCall('cookie jar clear', () => clearCookies(String(url), undefined));
  }

  /** Removes the cookie `name` sent to `url`. */
  delete(url, name) {
    jarCall('cookie jar delete', () => clearCookies(String(url), String(name)));
  }
}

const VU_JAR = Symbol('the VU jar');
let vuJar;

/** `http.cookieJar()`: this VU's jar. */
export function cookieJar() {
  vuJar ??= new CookieJar(VU_JAR);
  return vuJar;
}

export default {
  request,
  get,
  head,
  post,
  put,
  patch,
  del,
  options,
  batch,
  asyncRequest,
  file,
  url,
  expectedStatuses,
  setResponseCallback,
  cookieJar,
  CookieJar,
  Response,
};
