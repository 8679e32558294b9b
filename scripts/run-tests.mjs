// Runs every *.test.ts under packages/, apps/ and bench/ with node's own test runner.
// Node 20 has no glob support in `node --test`, so the file list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'apps', 'bench'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(path);
  }
}
for (const root of roots) walk(root);
// Optional filter: `npm run test:unit -- breaker` runs only files whose path contains "breaker".
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// Guards against a hung test eating CI's time: each test gets 4 minutes, the whole run 45.
const result = spawnSync(
  process.execPath,
  [
    '--conditions=tripswitch-source',
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=240000',
    '--test-force-exit',
    ...selected.sort(),
  ],
  { stdio: 'inherit', timeout: 45 * 60_000, killSignal: 'SIGKILL' },
);
if (result.error) console.error(`run-tests: ${result.error.message}`);
process.exit(result.status ?? 1);
