// The library on the other Node majors of DESIGN.md 1 (CI runs it after `npm test`, which covers the machine's
// Node 20): for each major given, the library's own tests and the package check (scripts/check-package.mjs).
// Node itself comes from the npm registry's `node` package, installed once per major into a cache folder
// (TRIPSWITCH_NODE_CACHE, default ~/.cache/tripswitch-node) and reused by every later step and run.
//
// Usage: node scripts/node-matrix.mjs 22 24
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.TRIPSWITCH_NODE_CACHE ?? join(homedir(), '.cache', 'tripswitch-node');
const majors = process.argv.slice(2);
if (majors.length === 0 || !majors.every((m) => /^\d+$/.test(m))) {
  console.error('usage: node scripts/node-matrix.mjs <major>...');
  process.exit(2);
}

function step(what, cmd, args, opts = {}) {
  const started = Date.now();
  console.log(`\nnode-matrix: ${what}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, timeout: 30 * 60_000, ...opts });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (r.status !== 0) {
    console.error(
      `node-matrix: ${what} failed after ${seconds} s (${r.error?.message ?? `exit ${r.status}`})`,
    );
    process.exit(1);
  }
  console.log(`node-matrix: ${what} passed in ${seconds} s`);
}

/** The node binary of the given major, installed from the registry on first use. */
function nodeBinary(major) {
  const dir = join(CACHE, major);
  const bin = join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bin)) {
    step(`fetch node@${major} from the registry into ${dir}`, 'npm', [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `node@${major}`,
    ]);
  }
  return bin;
}

const binaries = majors.map(nodeBinary);
for (const bin of binaries) {
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  step(`library tests on Node ${version}`, bin, ['scripts/run-tests.mjs', 'packages/tripswitch/']);
}
// publint, attw and the TypeScript consumers do not depend on the Node version; `npm test` ran them.
step(`package check on ${majors.map((m) => `Node ${m}`).join(', ')}`, process.execPath, [
  'scripts/check-package.mjs',
  '--runtime-only',
  ...binaries.flatMap((b) => ['--node', b]),
]);
