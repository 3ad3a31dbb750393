// Bundles the SDK's unit tests with the host imports stubbed, then runs them with
// Node's test runner. Exit code 0 when every test passes.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const stub = join(here, 'host-stub.js');
const dir = mkdtempSync(join(tmpdir(), 'stampede-js-test-'));
await build({
  // Each test file is its own bundle, with its own stubbed host.
  entryPoints: readdirSync(here).filter((f) => f.endsWith('.test.js')).map((f) => join(here, f)),
  bundle: true,
  format: 'esm',
  platform: 'node',
  outdir: dir,
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  plugins: [
    {
      name: 'stub-host',
      setup(b) {
        b.onResolve({ filter: /^stampede:scenario\// }, () => ({ path: stub }));
      },
    },
  ],
});
const outs = readdirSync(dir).map((f) => join(dir, f));
const r = spawnSync(process.execPath, ['--test', ...outs], { stdio: 'inherit' });
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
