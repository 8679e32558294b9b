/**
 * `npm run bench:scenario`: the outage scenario (DESIGN.md §1, §4) against each protection layer — no
 * breaker, opossum, cockatiel, tripswitch — side by side. Prints the parameters and a Markdown table, and
 * writes bench/results/scenario-latest.{md,json,svg}.
 *
 * Flags: `--quick` (the CI test's short phases), `--only=none,tripswitch` (variants, in that order).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  describeParams,
  FULL_PARAMS,
  isProtection,
  PROTECTIONS,
  type Protection,
  QUICK_PARAMS,
} from './params.js';
import { renderJson, renderMarkdown } from './report.js';
import { runScenario } from './scenario.js';
import { renderSvg } from './svg.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const params = args.includes('--quick') ? QUICK_PARAMS : FULL_PARAMS;
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const protections: Protection[] = [];
  for (const name of only ?? PROTECTIONS) {
    if (!isProtection(name)) throw new RangeError(`--only takes ${PROTECTIONS.join(',')}, got "${name}"`);
    protections.push(name);
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log('Outage scenario parameters:');
  for (const line of describeParams(params)) log(`  ${line}`);

  const { report, runs } = await runScenario(params, protections, log);
  const markdown = renderMarkdown(report);
  process.stdout.write(markdown);
  const m = report.machine;
  const load = report.loadAverage.map((l) => l.toFixed(1)).join(' / ');
  const subtitle = [
    `${m.date} · ${m.cpu}, ${m.cores} cores, load average ${load} at start · Node ${m.node}`,
    ...describeParams(params),
  ];
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'scenario-latest.md'), markdown);
  writeFileSync(join(dir, 'scenario-latest.json'), renderJson(report));
  writeFileSync(join(dir, 'scenario-latest.svg'), renderSvg(runs, params, subtitle));
  log(`wrote ${join(dir, 'scenario-latest.md')}, scenario-latest.json and scenario-latest.svg`);
}

await main();
