// Trims the JavaScript glue componentize-js generates between the script and the host
// (its "bindings") before the build snapshots it. In the pinned version (0.23.0) every
// import call pays, in the interpreter, for work a VU does not need:
//
// - two log records built for a debug switch (`JCO_DEBUG`) a sandboxed VU never has:
//   objects made and dropped on every request and check. The calls go.
// - each string argument (a request's method, URL and name; a check's name) measured
//   for its UTF-8 length one character at a time in interpreted JavaScript before it is
//   copied. The engine's native encoder now does both.
// - each field of a result read through a fresh look-up of the memory's buffer (a call
//   into the engine). One DataView now serves the whole result.
// - each export call (an iteration) awaiting a plain value, a turn of the job queue;
//   and, being an async function, building a generator and a promise and resolving it
//   (with the async stack captured). Exports now run synchronously and return one
//   promise resolved once, unless the script's function returned a promise: an empty
//   iteration went from 8.1 to 7.1 CPU-µs, a GET with a check from 87 to 85.
//
// On a GET with one check the four took 119 CPU-µs per request to 83, and an empty k6
// iteration 13 to 8 (alternating 5-s runs of one script built both ways). The glue's
// shape is checked: if another componentize-js generates it differently, the build
// stops with a message rather than guess.

import { readFileSync } from 'node:fs';

import { cachedSplice } from './splice-cache.js';

// The first line of a generated import function.
const IMPORT_FN = /^function import_[A-Za-z0-9_$]+\(/m;

/** The bindings, trimmed; throws if their shape is not the one expected. */
export function mendBindings(js) {
  if (!IMPORT_FN.test(js)) throw new GlueError('no import functions');
  const stripped = stripDebugLog(js);
  if (stripped.length === js.length) throw new GlueError('no _debugLog calls');
  return syncExports(noAwaitOfValues(oneDataView(replaceEncoder(stripped))));
}

// The conditional await `noAwaitOfValues` leaves in an export: `if (<thenable v>) v = await v;`.
const LATE_AWAIT = /^\s*if \((\w+) !== null && \(typeof \1 === 'object' \|\| typeof \1 === 'function'\) && typeof \1\.then === 'function'\) \1 = await \1;$/;

// An export (each iteration is one) is an async function, so each call builds a
// generator and a promise and resolves it, capturing the async stack: work for the
// interpreter even when the script's function returned a plain value. Each export runs
// synchronously instead and returns one promise resolved once; only when the script's
// function returns a promise does the generated async code (`$late`, taking that
// promise in place of the call) run.
function syncExports(js) {
  const lines = js.split('\n');
  const out = [];
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const head = /^async function (export_[A-Za-z0-9_$]+)\(([^)]*)\) \{$/.exec(lines[i]);
    if (!head) {
      out.push(lines[i]);
      continue;
    }
    const end = lines.indexOf('}', i);
    const body = lines.slice(i + 1, end);
    const [, name, params] = head;
    const at = body.findIndex((l) => LATE_AWAIT.test(l));
    const v = at >= 0 ? LATE_AWAIT.exec(body[at])[1] : undefined;
    // The call whose value is awaited: the last assignment of it before the await.
    let call = -1;
    for (let k = at - 1; k >= 0 && v; k--) {
      if (new RegExp(`^\\s*(let |const )?${v} = .*;$`).test(body[k])) {
        call = k;
        break;
      }
    }
    if (at < 0 || call < 0 || body.filter((l) => l.includes('await ')).length !== 1) {
      throw new GlueError(`export ${name} is not of the shape expected`);
    }
    const args = params.trim() ? `, ${params}` : '';
    const late = body.map((l, k) => (k === call ? l.replace(/ = .*;$/, ' = $pending;') : l));
    const now = body.map((l, k) => (k === at ? `    if (${v} !== null && (typeof ${v} === 'object' || typeof ${v} === 'function') && typeof ${v}.then === 'function') return ${name}$late(${v}${args});` : l));
    out.push(
      `async function ${name}$late($pending${args}) {`,
      ...late,
      '}',
      `function ${name}$now(${params}) {`,
      ...now,
      '}',
      `function ${name}(${params}) {`,
      `  const r = ${name}$now(${params});`,
      '  return r instanceof Promise ? r : r === undefined ? $RESOLVED : Promise.resolve(r);',
      '}',
    );
    n++;
    i = end;
  }
  if (n === 0) throw new GlueError('no async export functions');
  return 'const $RESOLVED = Promise.resolve();\n' + out.join('\n');
}

// Each export (an iteration, on-start, ...) awaits what the script's function returned,
// which costs a turn of the job queue even when it is a plain value, as it is for every
// synchronous task. It is awaited only when it is a promise.
function noAwaitOfValues(js) {
  let n = 0;
  const out = js.replace(/^(\s*)(const |let )?(\w+) = await (\w+\(.*\));$/gm, (_, indent, decl, v, call) => {
    n++;
    const d = decl ? 'let ' : '';
    const thenable = `${v} !== null && (typeof ${v} === 'object' || typeof ${v} === 'function') && typeof ${v}.then === 'function'`;
    return `${indent}${d}${v} = ${call};\n${indent}if (${thenable}) ${v} = await ${v};`;
  });
  if (n === 0) throw new GlueError('no awaited export call');
  return out;
}

// After an import's host call, its result is read with one DataView instead of asking
// the memory for its buffer (a native call) at every field: the guest's linear memory
// never moves, and what the host wrote lies within the memory as it was on return.
function oneDataView(js) {
  const lines = js.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!IMPORT_FN.test(lines[i])) {
      out.push(lines[i]);
      continue;
    }
    const end = lines.indexOf('}', i);
    const body = lines.slice(i, end + 1);
    const call = body.findIndex((l) => /^\s*(ret = )?\$import_[A-Za-z0-9_$]+\(.*\);\s*$/.test(l));
    if (call < 0) throw new GlueError(`no host call found in ${lines[i]}`);
    const reads = body.slice(call + 1).map((l) => l.replaceAll('dataView($memory)', '$dv'));
    const used = reads.some((l, k) => l !== body[call + 1 + k]);
    out.push(...body.slice(0, call + 1), ...(used ? ['  const $dv = dataView($memory);'] : []), ...reads);
    i = end;
  }
  return out.join('\n');
}

const ENCODER_HEAD = 'function _utf8AllocateAndEncode(s, realloc, memory) {\n';

// The same contract (a string in, `{ptr, len}` of its UTF-8 bytes in guest memory out;
// lone surrogates become U+FFFD as before), with the length taken from the native
// encoder's output.
const ENCODER = `${ENCODER_HEAD}  if (typeof s !== 'string') {
    throw new TypeError('expected a string, received [' + typeof s + ']');
  }
  if (s.length === 0) { return { ptr: 1, len: 0 }; }
  const bytes = TEXT_ENCODER_UTF8.encode(s);
  const len = bytes.length;
  const ptr = realloc(0, 0, 1, len);
  new Uint8Array(memory.buffer, ptr, len).set(bytes);
  return { ptr, len };
}`;

function replaceEncoder(js) {
  const start = js.indexOf(ENCODER_HEAD);
  if (start < 0) throw new GlueError('no _utf8AllocateAndEncode function');
  const end = js.indexOf('\n}', start);
  const body = js.slice(start, end + 2);
  if (!body.includes('TEXT_ENCODER_UTF8.encodeInto(') || !body.includes('realloc(0, 0, 1, len)')) {
    throw new GlueError('_utf8AllocateAndEncode is not the one expected');
  }
  return js.slice(0, start) + ENCODER + js.slice(end + 2);
}

// Removes every `_debugLog(...);` statement (their arguments are object literals and
// strings; parentheses inside strings are skipped), keeping the definition.
function stripDebugLog(js) {
  const call = '_debugLog(';
  let out = '';
  let at = 0;
  for (;;) {
    const start = js.indexOf(call, at);
    if (start < 0) break;
    // The definition (`const _debugLog = ...`) is not a call.
    if (js.startsWith('const ', start - 6)) {
      out += js.slice(at, start + call.length);
      at = start + call.length;
      continue;
    }
    const end = closing(js, start + call.length - 1);
    let stop = end + 1;
    if (js[stop] === ';') stop++;
    out += js.slice(at, start);
    at = stop;
  }
  return out + js.slice(at);
}

// The index of the parenthesis closing the one at `open`, skipping string literals.
function closing(js, open) {
  let depth = 0;
  for (let i = open; i < js.length; i++) {
    const c = js[i];
    if (c === '"' || c === "'" || c === '`') {
      i = stringEnd(js, i);
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new GlueError(`unbalanced _debugLog call at offset ${open}`);
}

function stringEnd(js, start) {
  const q = js[start];
  for (let i = start + 1; i < js.length; i++) {
    if (js[i] === '\\') i++;
    else if (js[i] === q) return i;
    else if (q === '`' && js[i] === '$' && js[i + 1] === '{') {
      // A template's `${...}` may hold strings and braces of its own.
      let depth = 0;
      for (i += 1; i < js.length; i++) {
        if (js[i] === '{') depth++;
        else if (js[i] === '}' && --depth === 0) break;
        else if (js[i] === '"' || js[i] === "'" || js[i] === '`') i = stringEnd(js, i);
      }
    }
  }
  throw new GlueError(`unterminated string at offset ${start}`);
}

export class GlueError extends Error {
  constructor(what) {
    super(`componentize-js generated glue of an unexpected shape (${what}); the build pins componentize-js 0.23.0, reinstall it (delete the SDK folder under the cache directory)`);
  }
}

/**
 * Makes componentize-js's splicer mend the bindings it returns, and keep its splice in
 * `spliceCache` (a folder) when one is given. The splicer is a plain object shared by
 * the module graph, so its method can be wrapped before `componentize` calls it.
 */
export async function mendSplicer(spliceCache) {
  const main = import.meta.resolve('@bytecodealliance/componentize-js');
  const { splicer } = await import(new URL('../lib/spidermonkey-embedding-splicer.js', main).href);
  if (splicer.spliceBindings.mended) return;
  const splice = splicer.spliceBindings;
  const version = spliceCache
    ? JSON.parse(readFileSync(new URL('../package.json', main), 'utf8')).version
    : undefined;
  const mended = (...args) => {
    const r = spliceCache ? cachedSplice(spliceCache, version, splice, args) : splice(...args);
    return { ...r, jsBindings: mendBindings(r.jsBindings) };
  };
  mended.mended = true;
  splicer.spliceBindings = mended;
}
