// Types of @stampede/sdk, kept in step with wit/scenario.wit (the test suite checks
// that every WIT http-error case, request field and timing is named here).

/** The WIT `http-error` cases. */
export type HttpErrorKind =
  | 'invalid-url'
  | 'denied'
  | 'dns'
  | 'connect'
  | 'tls'
  | 'timeout'
  | 'protocol'
  | 'too-large';

/** A request that got no response; the host has already recorded it as failed. */
export class HttpError extends Error {
  readonly kind: HttpErrorKind;
  readonly detail: string;
}

/** A task failure with a message (Locust's `response.failure(msg)`). */
export class Failure extends Error {}

/** Fails the current task with `message`. */
export function fail(message: string): never;

/** Phases of one request, in milliseconds (WIT `timings`, which are microseconds). */
export interface Timings {
  connect: number;
  tls: number;
  send: number;
  wait: number;
  receive: number;
  total: number;
}

export class Response {
  readonly status: number;
  /** Size of the decoded body, known even when it was not copied. */
  readonly bodySize: number;
  /** URL of the last response: the request's own (as written) unless redirects were followed. */
  readonly finalUrl: string;
  readonly timings: Timings;
  /** 2xx. */
  readonly ok: boolean;
  /** The body; needs `read: true` on the request. */
  readonly body: Uint8Array;
  text(): string;
  json(): any;
  /** First header with this name (case-insensitive); needs `read: true` or `'headers'`. */
  header(name: string): string | undefined;
  /** The response, unless `predicate` is false: then the task fails with `message`. */
  ensure(predicate: (r: Response) => boolean, message: string): Response;
  /** The response, unless its status differs. */
  expectStatus(status: number): Response;
}

/** A file part of a multipart body. */
export interface FilePart {
  data: string | Uint8Array | ArrayBuffer;
  filename?: string;
  /** Content type, default `application/octet-stream`. */
  type?: string;
}

export interface RequestOptions {
  /** Groups the request in metrics, e.g. `GET /api/v1/products/:id` (WIT `name`). */
  name?: string;
  headers?: Record<string, string | number>;
  /** Appended to the URL as a query string. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  json?: unknown;
  /** A form-encoded body. */
  form?: Record<string, string | number | boolean | undefined> | [string, string][];
  /** A multipart/form-data body: text fields and files. */
  multipart?: Record<string, string | FilePart>;
  /** A raw body. */
  body?: string | Uint8Array | ArrayBuffer;
  /** `Authorization: Bearer <token>`. */
  bearer?: string;
  /** Overrides the run's request timeout, in milliseconds (WIT `timeout-ms`). */
  timeout?: number;
  /**
   * A W3C `traceparent` on this request whatever `--trace-context` says (`true` or
   * `'sampled'`, `'unsampled'`), or none (`false`).
   */
  trace?: boolean | 'sampled' | 'unsampled';
  /**
   * What to copy back (WIT `read`): `true` for body and headers, `'headers'` for
   * headers; by default neither, and only the body's size is recorded.
   */
  read?: boolean | 'headers';
}

/** One request, one host call (WIT `send`); relative URLs resolve against `--target`. */
export function request(method: string, url: string, opts?: RequestOptions): Response;

export const http: {
  request: typeof request;
  get(url: string, opts?: RequestOptions): Response;
  post(url: string, opts?: RequestOptions): Response;
  put(url: string, opts?: RequestOptions): Response;
  patch(url: string, opts?: RequestOptions): Response;
  delete(url: string, opts?: RequestOptions): Response;
  head(url: string, opts?: RequestOptions): Response;
};

/** `application/x-www-form-urlencoded`. */
export function urlencode(pairs: Record<string, unknown> | [string, unknown][]): string;
/** [content type, body] of a multipart/form-data body. */
export function multipart(fields: Record<string, string | FilePart>): [string, Uint8Array];

/** Records a named pass/fail check; returns `ok`. */
export function check(name: string, ok: unknown): boolean;
/** Suspends only this virtual user, for `seconds`. */
export function sleep(seconds: number): void;
/** Milliseconds since the run started (monotonic). */
export function now(): number;
/** A value passed with `--env KEY=VALUE` (never the host's environment). */
declare global {
  /** Node's `process.env`, read from the run's `--env` (never the host's environment). */
  var process: { env: Record<string, string | undefined> };
}

/** Why a feeder or `readData` call got nothing: no row left, or no such file. */
export class DataError extends Error {
  kind: 'invalid' | 'exhausted';
}
export interface Feeder {
  /** The row the feeder's order gives now, keyed by column. */
  next(): Record<string, any>;
  /** Row `index` (from 0), whatever the order. */
  row(index: number): Record<string, any>;
  readonly length: number;
  readonly columns: string[];
}
/**
 * Rows of `file` in the run's data directory (`--data`): a CSV file with a header line
 * or a JSON array of objects, parsed once per run on the host and shared by every VU.
 */
export function feeder(file: string, order?: 'sequential' | 'circular' | 'random' | 'unique'): Feeder;
/** A whole file of the data directory: text, or bytes with `'b'`. */
export function readData(file: string): string;
export function readData(file: string, mode: 'b'): Uint8Array;
export function env(key: string): string | undefined;
export function env(key: string, fallback: string): string;

export const vu: {
  /** Unique across the run, from 1. */
  id(): number;
  /** The iteration this VU is running, from 0. */
  iteration(): number;
  scenario(): string;
};

export const metrics: {
  counter(name: string, value?: number): void;
  trend(name: string, value: number): void;
  rate(name: string, ok: boolean): void;
  gauge(name: string, value: number): void;
};

export const log: {
  debug(msg: unknown): void;
  info(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown): void;
};

/** The WIT `wait-time`. */
export type WaitTime =
  | { tag: 'none' }
  | { tag: 'constant'; val: number }
  | { tag: 'between'; val: [number, number] };

/** Wait between tasks uniformly between `min` and `max` seconds (Locust's `between`). */
export function between(min: number, max: number): WaitTime;
/** A fixed wait between tasks, in seconds. */
export function constant(seconds: number): WaitTime;

export interface Task<U> {
  name: string;
  weight: number;
  run: (this: U) => void;
}

/** A task: `task(3, function browse() { ... })`; the name defaults to the function's. */
export function task<U = any>(weight: number, run: (this: U) => void, name?: string): Task<U>;

/**
 * A virtual user: the scenario module's default export. One instance runs per VU, so
 * the object is that VU's own state. Top-level module code runs at build time (it is
 * snapshotted): read `env` in `onStart` or in a `waitTime` function, not at top level.
 */
export interface UserSpec<U = any> {
  waitTime?: WaitTime | (() => WaitTime);
  onStart?(this: U): void;
  tasks: Task<U>[] | Record<string, [number, (this: U) => void]>;
  onStop?(this: U): void;
}

/** The WIT `user` export a user object becomes (the build does this for you). */
export interface UserExport {
  describe(): { tasks: { name: string; weight: number }[]; wait: WaitTime };
  onStart(): void;
  runTask(index: number): void;
  onStop(): void;
}

export function defineUser<U>(user: UserSpec<U> & U): UserExport;
