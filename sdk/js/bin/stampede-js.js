#!/usr/bin/env node
// `stampede-js build scenario.js -o scenario.wasm`: bundles a scenario module (JS or
// TypeScript) with the SDK, then makes it a WebAssembly component with
// componentize-js, against the stampede:scenario WIT world. Works offline once
// `npm install` has run.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sdkIndex = join(pkgDir, 'src', 'index.js');

const USAGE = `usage: stampede-js build <scenario.js|.ts> -o <out.wasm> [--wit <dir>] [--inputs <file>] [--splice-cache <dir>]

Bundles the scenario with @stampede/sdk and builds a WebAssembly component that
\`stampede run\` takes. The module's default export is the user object:

  import { http, check, between, task } from '@stampede/sdk';
  export default {
    waitTime: between(1, 3),
    onStart() { ... },
    tasks: [task(3, function browse() { ... })],
  };`;

function die(msg) {
  console.error(`stampede-js: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === '-h' || cmd === '--help' || cmd === undefined) {
    console.log(USAGE);
    process.exit(cmd === undefined ? 1 : 0);
  }
  if (cmd !== 'build') die(`unknown command ${JSON.stringify(cmd)}; try: stampede-js build scenario.js -o scenario.wasm`);
  const args = { entry: undefined, out: undefined, wit: undefined, inputs: undefined, spliceCache: undefined };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-o' || a === '--out') args.out = rest[++i];
    else if (a === '--wit') args.wit = rest[++i];
    // Where to list the files the build read (one absolute path a line), so a cache
    // can tell when it must build again.
    else if (a === '--inputs') args.inputs = rest[++i];
    // Where to keep the engine spliced with the world's bindings, which every script
    // built against that world shares.
    else if (a === '--splice-cache') {
      if (!rest[i + 1]) die('--splice-cache needs a folder, e.g. --splice-cache ~/.cache/stampede/js-splice');
      args.spliceCache = resolve(rest[++i]);
    }
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (args.entry === undefined) args.entry = a;
    else die(`one scenario at a time (got ${args.entry} and ${a})`);
  }
  // By default where `stampede` keeps what it builds, so a project's own builds
  // (`npm run build`) share the splice with the CLI's.
  const cache = defaultCache();
  args.spliceCache ??= cache && join(cache, 'js-splice');
  if (!args.entry) die('which scenario? stampede-js build scenario.js -o scenario.wasm');
  if (!args.out) die('where to? add -o scenario.wasm');
  return args;
}

// `stampede`'s cache directory: $STAMPEDE_CACHE_DIR, else the user's cache directory.
function defaultCache() {
  const env = process.env;
  if (env.STAMPEDE_CACHE_DIR) return resolve(env.STAMPEDE_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'stampede');
  return env.HOME ? join(env.HOME, '.cache', 'stampede') : undefined;
}

function witDir(given) {
  const candidates = given ? [resolve(given)] : [join(pkgDir, 'wit'), resolve(pkgDir, '..', '..', 'wit')];
  const found = candidates.find((d) => existsSync(join(d, 'scenario.wit')));
  if (!found) die(`no scenario.wit in ${candidates.join(' or ')}; pass --wit <dir>`);
  return found;
}

const k6Dir = join(pkgDir, 'src', 'k6');
// The k6 modules this SDK implements, and what to say for the others.
const K6_MODULES = {
  k6: 'index.js',
  'k6/http': 'http.js',
  'k6/metrics': 'metrics.js',
  'k6/execution': 'execution.js',
  'k6/encoding': 'encoding.js',
  'k6/data': 'data.js',
  'k6/crypto': 'crypto.js',
  'k6/experimental/tracing': 'tracing.js',
};
// open() reads at most this much per file: every VU's memory holds it.
const MAX_OPEN_BYTES = 16 << 20;

function esbuildDie(e) {
  const first = e.errors?.[0];
  if (first) {
    const loc = first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : '';
    die(`${loc}${first.text}`);
  }
  throw e;
}

// Resolves `k6` and `k6/*` to this SDK's modules; refuses remote and unsupported ones
// with a line that names them (esbuild adds the importing file and line).
function k6Plugin(seen) {
  return {
    name: 'k6',
    setup(b) {
      b.onResolve({ filter: /^k6(\/.*)?$/ }, (args) => {
        seen.k6 = true;
        const file = K6_MODULES[args.path];
        if (!file) {
          return { errors: [{ text: `${args.path} is not supported by Stampede (supported: ${Object.keys(K6_MODULES).join(', ')}); see the README's "Coming from k6"` }] };
        }
        return { path: join(k6Dir, file) };
      });
      b.onResolve({ filter: /^https?:\/\// }, (args) => ({
        errors: [{ text: `${args.path}: remote modules are not fetched at build time; save the file beside the script and import it by its path` }],
      }));
    },
  };
}

// The files a script's `open("literal")` calls name, found in its own sources.
function scanOpens(entry, sources) {
  const files = {};
  const base = dirname(entry);
  for (const src of sources) {
    for (const m of src.matchAll(/\bopen\(\s*(['"`])([^'"`$]+)\1/g)) {
      const rel = m[2];
      const path = resolve(base, rel);
      // Not beside the script, or too large to copy into every VU: read at run time
      // from the run's data directory (--data) instead.
      if (!existsSync(path) || statSync(path).size > MAX_OPEN_BYTES) continue;
      files[rel] = readFileSync(path).toString('base64');
    }
  }
  return files;
}

// The script's own files an esbuild run read (not the SDK's, nor the generated entry).
function inputsOf(metafile) {
  return Object.keys(metafile.inputs)
    .filter((p) => !p.startsWith('<') && p !== 'stampede-entry.js' && p !== 'stampede-k6-entry.js')
    .map((p) => resolve(p))
    .filter((p) => !p.startsWith(pkgDir + '/'));
}

const COMMON = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  write: false,
  logLevel: 'silent',
  external: ['stampede:scenario/*'],
  alias: { '@stampede/sdk': sdkIndex },
  mainFields: ['module', 'main'],
};

async function bundle(entry) {
  const esbuild = await import('esbuild');
  // First pass: is it a k6 script (it imports k6 modules), and which files it opens.
  const seen = { k6: false };
  const sources = [];
  let exported = [];
  try {
    const first = await esbuild.build({
      ...COMMON,
      metafile: true,
      entryPoints: [entry],
      plugins: [
        k6Plugin(seen),
        {
          name: 'sources',
          setup(b) {
            b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
              if (!args.path.includes('node_modules') && !args.path.startsWith(pkgDir)) {
                sources.push(readFileSync(args.path, 'utf8'));
              }
              return undefined;
            });
          },
        },
      ],
    });
    exported = Object.values(first.metafile.outputs).flatMap((o) => o.exports ?? []);
  } catch (e) {
    esbuildDie(e);
  }
  if (seen.k6) {
    // A script with handleSummary exports `summary` too (world scenario-k6), which the
    // host calls once after the run; without, nothing after the run loads it again.
    const summary = exported.includes('handleSummary');
    const files = scanOpens(entry, sources);
    // The script is required, not imported: esbuild then wraps its top level in a
    // function, so init code runs in each VU (as in k6), not when the module is built.
    const wrapper = `import { defineK6 } from ${JSON.stringify(join(k6Dir, 'runner.js'))};
import { b64decode } from ${JSON.stringify(join(k6Dir, 'encoding.js'))};
const opened = ${JSON.stringify(files)};
const files = {};
for (const k of Object.keys(opened)) files[k] = new Uint8Array(b64decode(opened[k]));
export const { user, run${summary ? ', summary' : ''} } = defineK6(() => require(${JSON.stringify(entry)}), files);
`;
    try {
      const out = await esbuild.build({
        ...COMMON,
        metafile: true,
        stdin: { contents: wrapper, resolveDir: dirname(entry), sourcefile: 'stampede-k6-entry.js', loader: 'js' },
        plugins: [k6Plugin({})],
      });
      const opened = Object.keys(files).map((rel) => resolve(dirname(entry), rel));
      const world = summary ? 'scenario-k6' : 'scenario-with-setup';
      return { source: out.outputFiles[0].text, world, inputs: [...inputsOf(out.metafile), ...opened] };
    } catch (e) {
      esbuildDie(e);
    }
  }
  // The module's default export is the user object; a module that already exports the
  // WIT-shaped `user` (via defineUser) is taken as it is.
  const wrapper = `import * as scenario from ${JSON.stringify(entry)};
import { defineUser } from ${JSON.stringify(sdkIndex)};
const u = scenario.default ?? scenario.user;
export const user = typeof u?.runTask === 'function' ? u : defineUser(u);
`;
  try {
    const out = await esbuild.build({
      ...COMMON,
      metafile: true,
      stdin: { contents: wrapper, resolveDir: dirname(entry), sourcefile: 'stampede-entry.js', loader: 'js' },
    });
    return { source: out.outputFiles[0].text, world: 'scenario', inputs: inputsOf(out.metafile) };
  } catch (e) {
    esbuildDie(e);
  }
}

// One line from componentize-js's report: the exception the module threw while it was
// snapshotted at build time, or the report's first line.
function componentizeError(message) {
  const lines = message.split('\n');
  const at = lines.findIndex((l) => l.includes('Exception while evaluating top-level script'));
  if (at >= 0 && lines[at + 1]) {
    // "scenario.js:30:33 TypeError: ..." points into the bundle; the message is what helps.
    const thrown = lines[at + 1].replace(/^\S+:\d+:\d+\s+/, '');
    return `the module threw while it was built (top-level code runs at build time): ${thrown}`;
  }
  const callsHost = message.match(/cannot call arbitrary imported functions|unknown imported function: '([^']+)' '([^']+)'/);
  if (callsHost) {
    return 'top-level code called the host while the module was built; move calls such as env() into onStart, a task or a waitTime function';
  }
  return `componentize failed: ${lines[0]}`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const entry = resolve(args.entry);
  if (!existsSync(entry) || !(await stat(entry)).isFile()) die(`${args.entry}: no such file`);
  const wit = witDir(args.wit);
  const t0 = Date.now();
  const { source, world, inputs } = await bundle(entry);
  const { componentize } = await import('@bytecodealliance/componentize-js');
  // componentize-js's generated glue leaks each import call's arguments: mended here.
  await (await import('./glue.js')).mendSplicer(args.spliceCache);
  const work = await mkdtemp(join(tmpdir(), 'stampede-js-'));
  let failure;
  try {
    const sourcePath = join(work, 'scenario.js');
    await writeFile(sourcePath, source);
    let component;
    try {
      ({ component } = await componentize({
        sourcePath,
        witPath: wit,
        worldName: world,
        // The host offers no wasi:http; requests go through stampede:scenario/http.
        disableFeatures: ['http', 'fetch-event'],
      }));
    } catch (e) {
      // Not die(): its exit would skip the finally below and leave the work folder.
      failure = `${args.entry}: ${componentizeError(String(e.message ?? e))}`;
    }
    if (!failure) {
      const out = resolve(args.out);
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, component);
      if (args.inputs) await writeFile(resolve(args.inputs), [...new Set([entry, ...inputs])].sort().join('\n') + '\n');
      console.error(`stampede-js: ${args.entry} → ${args.out} (${(component.length / 1e6).toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (failure) die(failure);
}

main().catch((e) => die(String(e?.stack ?? e)));
