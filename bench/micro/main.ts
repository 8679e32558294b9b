/**
 * `npm run bench`: every micro-benchmark suite in one process, one Markdown table of ratios measured in the
 * same run, also written to bench/results/micro-latest.{md,json}.
 *
 * Flags: `--quick` (small counts, for a fast look), `--only=success,rejection` (suite ids).
 * Suites come from ./suites.ts (add new ones there, e.g. the Redis rows).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../lib/machine.js';
import { type Report, renderJson, renderMarkdown, type SuiteOutcome } from '../lib/report.js';
import { FULL_SCALE, QUICK_SCALE } from '../lib/suite.js';
import { suites } from './suites.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const scale = quick ? QUICK_SCALE : FULL_SCALE;
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    console.error('note: run with --expose-gc (npm run bench does) for steadier memory figures');
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const started = performance.now();
  // Read before the suites run: the report calls its load figure the load at the start.
  const machine = machineInfo();
  const outcomes: SuiteOutcome[] = [];
  for (const suite of suites) {
    if (only !== undefined && !only.includes(suite.id)) continue;
    log(`… ${suite.title}`);
    const t0 = performance.now();
    const result = await suite.run({ scale, log });
    outcomes.push({ id: suite.id, title: suite.title, result, seconds: (performance.now() - t0) / 1000 });
  }
  const report: Report = {
    machine,
    notes: [buildNote()],
    scale: quick ? 'quick' : 'full',
    seconds: (performance.now() - started) / 1000,
    suites: outcomes,
  };
  const markdown = renderMarkdown(report);
  process.stdout.write(markdown);
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'micro-latest.md'), markdown);
  writeFileSync(join(dir, 'micro-latest.json'), renderJson(report));
  log(`wrote ${join(dir, 'micro-latest.md')} and micro-latest.json`);
}

/**
 * Which tripswitch was measured. Users run the built `dist/` (what npm installs), so `npm run bench` builds and
 * measures that; run with `--conditions=tripswitch-source` it measures the TypeScript source through tsx,
 * whose transform wraps every closure created per call in a naming helper (pipelines pay ~300 ns per call).
 */
function buildNote(): string {
  const from = import.meta.resolve('tripswitch');
  return from.includes('/dist/')
    ? 'tripswitch measured from its built `dist/` (what npm installs; `npm run bench` builds it first).'
    : `tripswitch measured from its TypeScript source through tsx (${from}), which adds a naming helper to closures created per call: slower than what users run; use \`npm run bench\`.`;
}

await main();
