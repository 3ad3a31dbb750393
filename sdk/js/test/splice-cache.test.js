// The build's keeping of componentize-js's splice (bin/splice-cache.js): one splice per
// engine, world and version, whatever the script; another world splices again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedSplice } from '../bin/splice-cache.js';

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'splice-cache-test-'));
  const wit = join(dir, 'wit');
  mkdirSync(join(wit, 'deps'), { recursive: true });
  writeFileSync(join(wit, 'scenario.wit'), 'package a:b;\nworld scenario {}\n');
  writeFileSync(join(wit, 'deps', 'x.wit'), 'package x:y;\n');
  return { dir, wit, cache: join(dir, 'cache') };
}

// A splice that counts its calls and returns what the real one returns, by shape.
function counting() {
  const f = (engine, features, witWorld, witPath, worldName) => {
    f.calls += 1;
    return {
      wasm: Buffer.concat([engine, Buffer.from(worldName)]),
      jsBindings: `// bindings of ${worldName}`,
      exports: [['run', { params: ['i32'], ret: null, retptr: false }]],
      imports: [['stampede:scenario/http', 'send', 3]],
    };
  };
  f.calls = 0;
  return f;
}

test('a second build with the same engine and world reads the kept splice', () => {
  const { dir, wit, cache } = fixture();
  try {
    const splice = counting();
    const args = [Buffer.from('engine'), ['stdio'], undefined, wit, 'scenario', false];
    const first = cachedSplice(cache, '0.23.0', splice, args);
    const second = cachedSplice(cache, '0.23.0', splice, args);
    assert.equal(splice.calls, 1);
    assert.deepEqual({ ...second, wasm: [...second.wasm] }, { ...first, wasm: [...first.wasm] });
    // Nothing half-written is left beside it.
    assert.deepEqual(readdirSync(cache).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('another world, world file, feature, engine or version splices again', () => {
  const { dir, wit, cache } = fixture();
  try {
    const splice = counting();
    const base = [Buffer.from('engine'), ['stdio'], undefined, wit, 'scenario', false];
    cachedSplice(cache, '0.23.0', splice, base);
    cachedSplice(cache, '0.23.0', splice, [...base.slice(0, 4), 'scenario-k6', false]);
    cachedSplice(cache, '0.23.0', splice, [base[0], ['stdio', 'clocks'], ...base.slice(2)]);
    cachedSplice(cache, '0.23.0', splice, [Buffer.from('engine2'), ...base.slice(1)]);
    cachedSplice(cache, '0.24.0', splice, base);
    assert.equal(splice.calls, 5);
    writeFileSync(join(wit, 'deps', 'x.wit'), 'package x:z;\n');
    cachedSplice(cache, '0.23.0', splice, base);
    assert.equal(splice.calls, 6, 'a changed file of the world splices again');
    cachedSplice(cache, '0.23.0', splice, base);
    assert.equal(splice.calls, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a kept Wasm that is not the one written is spliced again, never used', () => {
  const { dir, wit, cache } = fixture();
  try {
    const splice = counting();
    const args = [Buffer.from('engine'), ['stdio'], undefined, wit, 'scenario', false];
    const first = cachedSplice(cache, '0.23.0', splice, args);
    const wasm = readdirSync(cache).find((f) => f.endsWith('.wasm'));
    writeFileSync(join(cache, wasm), first.wasm.subarray(0, 3)); // cut short
    const again = cachedSplice(cache, '0.23.0', splice, args);
    assert.equal(splice.calls, 2);
    assert.deepEqual([...again.wasm], [...first.wasm]);
    cachedSplice(cache, '0.23.0', splice, args);
    assert.equal(splice.calls, 2, 'and kept whole again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a world that cannot be read for the key is spliced without the cache', () => {
  const { dir, cache } = fixture();
  try {
    const splice = counting();
    const r = cachedSplice(cache, '0.23.0', splice, [Buffer.from('e'), [], undefined, join(dir, 'no-such-wit'), 's', false]);
    assert.equal(r.jsBindings, '// bindings of s');
    assert.equal(splice.calls, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache that cannot be written still gives the splice', () => {
  const { dir, wit } = fixture();
  try {
    const blocked = join(dir, 'file');
    writeFileSync(blocked, '');
    const splice = counting();
    const r = cachedSplice(join(blocked, 'cache'), '0.23.0', splice, [Buffer.from('e'), [], undefined, wit, 's', false]);
    assert.equal(r.jsBindings, '// bindings of s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
