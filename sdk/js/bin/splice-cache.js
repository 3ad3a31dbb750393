// Keeps componentize-js's splice between builds. Before it runs a script, componentize-js
// splices the WIT world's bindings into its JavaScript engine (a 12 MB Wasm module
// rewritten by a splicer that itself runs as Wasm in node), the same for every script
// built against one world with one componentize-js. Kept in a folder keyed by everything
// the splice reads (the engine's bytes, the world's files, its name, the features, the
// splicer's version), a build after the first skips it: a k6 script's build went from
// 6.0 to 5.4 CPU-s, 4.5 to 4.0 s (not more: the splicer's memory growth, which the
// splice paid first, moves to the stub step that follows). Written by rename, so builds
// running at once never read half a file.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The bytes of every file under `dir`, by relative path, sorted. */
function hashTree(h, dir, rel = '') {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = join(dir, rel, name);
    if (statSync(path).isDirectory()) {
      hashTree(h, dir, join(rel, name));
    } else {
      h.update(`\0${join(rel, name)}\0`);
      h.update(readFileSync(path));
    }
  }
}

/**
 * The key of one splice: `args` are `spliceBindings`'s (engine bytes, features, world
 * text, world path, world name, debug), `version` the splicer's package version.
 */
export function spliceKey(args, version) {
  const [engine, features, witWorld, witPath, worldName, debug] = args;
  const h = createHash('sha256');
  h.update(`componentize-js ${version}\0`);
  h.update(engine);
  h.update(`\0${JSON.stringify([features, witWorld ?? null, worldName ?? null, !!debug])}\0`);
  if (witPath) hashTree(h, witPath);
  return h.digest('hex').slice(0, 32);
}

/** `splice(...args)`, from `dir` when it holds the same splice; kept there otherwise. */
export function cachedSplice(dir, version, splice, args) {
  let key;
  try {
    key = spliceKey(args, version);
  } catch {
    // A world that cannot be read for the key: the splice reads it and says why.
    return splice(...args);
  }
  const wasmPath = join(dir, `${key}.wasm`);
  const metaPath = join(dir, `${key}.json`);
  try {
    // The JSON is written last and names the Wasm's digest: a Wasm that is not the
    // one written (cut short, overwritten) is spliced again, never used.
    const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    const wasm = readFileSync(wasmPath);
    if (digest(wasm) === meta.wasmSha256) {
      const { jsBindings, exports, imports } = meta;
      return { jsBindings, exports, imports, wasm };
    }
  } catch {
    // Not kept yet (or unreadable): splice.
  }
  const r = splice(...args);
  // Unique to this write: processes in containers sharing the folder may have one pid.
  const tmp = `.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(wasmPath + tmp, r.wasm, { flag: 'wx' });
    renameSync(wasmPath + tmp, wasmPath);
    const { jsBindings, exports, imports } = r;
    const meta = { jsBindings, exports, imports, wasmSha256: digest(r.wasm) };
    writeFileSync(metaPath + tmp, JSON.stringify(meta), { flag: 'wx' });
    renameSync(metaPath + tmp, metaPath);
  } catch {
    // A cache that cannot be written costs the next build time, not this one's result.
    for (const p of [wasmPath + tmp, metaPath + tmp]) {
      try {
        rmSync(p, { force: true });
      } catch {
        // Its folder is not there either.
      }
    }
  }
  return r;
}

function digest(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}
