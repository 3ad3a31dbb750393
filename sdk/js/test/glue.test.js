// The build's trim of componentize-js's generated glue (bin/glue.js), on a small
// bindings text of the same shape: what it removes, what it keeps working, and that
// a shape it does not know stops the build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mendBindings, GlueError } from '../bin/glue.js';

const ORIGINAL_ENCODER = `function _utf8AllocateAndEncode(s, realloc, memory) {
  if (typeof s !== 'string') {
    throw new TypeError('expected a string, received [' + typeof s + ']');
  }
  if (s.length === 0) { return { ptr: 1, len: 0 }; }
  let len = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 0x80) { len += 1; } else if (ch < 0x800) { len += 2; } else { len += 3; }
  }
  const ptr = realloc(0, 0, 1, len);
  const { read, written } = TEXT_ENCODER_UTF8.encodeInto(s, new Uint8Array(memory.buffer, ptr, len));
  return { ptr, len };
}`;

const BINDINGS = `let [$memory, $realloc, $dealloc, $import_t$send] = $bindings;
let dv = new DataView(new ArrayBuffer());
const dataView = mem => dv.buffer === mem.buffer ? dv : dv = new DataView(mem.buffer);
const TEXT_ENCODER_UTF8 = new TextEncoder();
${ORIGINAL_ENCODER}
const _debugLog = (...args) => {
  if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
  console.debug(...args);
};
function import_t$send(arg0) {
  var encodeRes = _utf8AllocateAndEncode(arg0, $realloc, $memory);
  _debugLog(' [Instruction::CallInterface] (sync, @ enter)', { funcName: 'send(x)', n: \`\${(1)}\` });
  let ret;
  ret = $import_t$send(encodeRes.ptr, encodeRes.len);
  _debugLog("[Instruction::Return]", { quote: "a ')' inside" });
  var len = dataView($memory).getUint32(ret, true);
  var text = new TextDecoder().decode(new Uint8Array($memory.buffer, dataView($memory).getUint32(ret + 4, true), len));
  return text;
}
async function export_t$run(f) {
  let ret;
  try {
    const hostRet0 = await f();
    ret = { tag: 'ok', val: hostRet0 };
  } catch (e) {
    ret = { tag: 'err', val: String(e) };
  }
  return ret;
}
return { send: import_t$send, run: export_t$run };`;

// The bindings evaluated over a fake guest memory: the host call answers with a
// (length, pointer) pair at address 0 naming what it was sent, which the glue reads back.
function load(js) {
  const memory = { buffer: new ArrayBuffer(1024) };
  let next = 8;
  const realloc = (_old, _oldLen, _align, len) => {
    const p = next;
    next += len;
    return p;
  };
  const send = (ptr, len) => {
    const v = new DataView(memory.buffer);
    v.setUint32(0, len, true);
    v.setUint32(4, ptr, true);
    return 0;
  };
  return new Function('$bindings', js)([memory, realloc, () => {}, send]);
}

test('the debug-log calls go, parentheses in their strings and templates included', () => {
  const out = mendBindings(BINDINGS);
  assert.equal(out.match(/_debugLog\(/g), null);
  assert.match(out, /const _debugLog = /);
  assert.ok(out.includes('ret = $import_t$send(encodeRes.ptr, encodeRes.len);'));
  // The result is read through one DataView made after the host call.
  assert.equal(out.match(/dataView\(\$memory\)/g).length, 1);
  assert.match(out, /\$import_t\$send\(encodeRes\.ptr, encodeRes\.len\);\n {2}const \$dv = dataView\(\$memory\);/);
});

test('strings still reach the host as their UTF-8 bytes', () => {
  const { send } = load(mendBindings(BINDINGS));
  for (const s of ['GET', 'http://127.0.0.1/a?b=c', 'héllo ✓ 𝄞', '']) {
    assert.equal(send(s), s);
  }
  // A lone surrogate is sent as U+FFFD, as the original encoder sent it.
  assert.equal(send('a\ud800b'), 'a\ufffdb');
  assert.throws(() => send(42), /expected a string/);
});

test('an export awaits what the script returned only when it is a promise', async () => {
  const { run } = load(mendBindings(BINDINGS));
  assert.deepEqual(await run(() => 7), { tag: 'ok', val: 7 });
  assert.deepEqual(await run(async () => 8), { tag: 'ok', val: 8 });
  assert.deepEqual(await run(() => ({ then: (ok) => ok(9) })), { tag: 'ok', val: 9 });
  assert.deepEqual(await run(() => { throw new Error('no'); }), { tag: 'err', val: 'Error: no' });
  assert.deepEqual(await run(async () => { throw new Error('late'); }), { tag: 'err', val: 'Error: late' });
});

test('an export runs synchronously, and only a promise from the script takes the async path', async () => {
  const out = mendBindings(BINDINGS);
  assert.equal(out.match(/^async function export_t\$run\(/m), null);
  assert.match(out, /^async function export_t\$run\$late\(\$pending, f\) \{/m);
  const { run } = load(out);
  let late = 0;
  const r = run(() => 7);
  assert.ok(r instanceof Promise);
  assert.deepEqual(await r, { tag: 'ok', val: 7 });
  assert.deepEqual(await run(() => ({ then: (ok) => { late++; ok(9); } })), { tag: 'ok', val: 9 });
  assert.equal(late, 1, 'the script is called once');
});

test('a shape it does not know stops the build', () => {
  assert.throws(() => mendBindings('let x = 1;'), GlueError);
  assert.throws(() => mendBindings(BINDINGS.replaceAll('_debugLog(', 'debugLog(')), /no _debugLog calls/);
  assert.throws(() => mendBindings(BINDINGS.replace('encodeInto(', 'encode(')), /_utf8AllocateAndEncode is not the one expected/);
});
