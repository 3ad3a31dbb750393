#!/usr/bin/env node
// `stampede-js build scenario.js -o scenario.wasm`: bundles a scenario module (JS or
// TypeScript) with the SDK, then makes it a WebAssembly component with
// componentize-js, against the stampede:scenario WIT world. Works offline once
// `npm install` has run.

import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sdkIndex = join(pkgDir, 'src', 'index.js');

const USAGE = `usage: stampede-js build <scenario.js|.ts> -o <out.wasm> [--wit <dir>]

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
  const args = { entry: undefined, out: undefined, wit: undefined };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-o' || a === '--out') args.out = rest[++i];
    else if (a === '--wit') args.wit = rest[++i];
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (args.entry === undefined) args.entry = a;
    else die(`one scenario at a time (got ${args.entry} and ${a})`);
  }
  if (!args.entry) die('which scenario? stampede-js build scenario.js -o scenario.wasm');
  if (!args.out) die('where to? add -o scenario.wasm');
  return args;
}

function witDir(given) {
  const candidates = given ? [resolve(given)] : [join(pkgDir, 'wit'), resolve(pkgDir, '..', '..', 'wit')];
  const found = candidates.find((d) => existsSync(join(d, 'scenario.wit')));
  if (!found) die(`no scenario.wit in ${candidates.join(' or ')}; pass --wit <dir>`);
  return found;
}

async function bundle(entry) {
  const esbuild = await import('esbuild');
  // The module's default export is the user object; a module that already exports the
  // WIT-shaped `user` (via defineUser) is taken as it is.
  const wrapper = `import * as scenario from ${JSON.stringify(entry)};
import { defineUser } from ${JSON.stringify(sdkIndex)};
const u = scenario.default ?? scenario.user;
export const user = typeof u?.runTask === 'function' ? u : defineUser(u);
`;
  try {
    const out = await esbuild.build({
      stdin: { contents: wrapper, resolveDir: dirname(entry), sourcefile: 'stampede-entry.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      external: ['stampede:scenario/*'],
      alias: { '@stampede/sdk': sdkIndex },
      mainFields: ['module', 'main'],
    });
    return out.outputFiles[0].text;
  } catch (e) {
    const first = e.errors?.[0];
    if (first) {
      const loc = first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : '';
      die(`${loc}${first.text}`);
    }
    throw e;
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
  const source = await bundle(entry);
  const { componentize } = await import('@bytecodealliance/componentize-js');
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
        worldName: 'scenario',
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
      console.error(`stampede-js: ${args.entry} → ${args.out} (${(component.length / 1e6).toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (failure) die(failure);
}

main().catch((e) => die(String(e?.stack ?? e)));
