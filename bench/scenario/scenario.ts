/** Every requested variant through the scenario, one after the other, analysed into one report. */
import { loadavg } from 'node:os';
import { machineInfo } from '../lib/machine.js';
import { analyze } from './analyze.js';
import { checkParams, type Protection, type ScenarioParams } from './params.js';
import type { ScenarioReport } from './report.js';
import { runVariant, type VariantRun } from './run.js';

export interface ScenarioResult {
  report: ScenarioReport;
  runs: VariantRun[];
}

export async function runScenario(
  params: ScenarioParams,
  protections: readonly Protection[],
  log: (line: string) => void = () => {},
): Promise<ScenarioResult> {
  checkParams(params);
  if (protections.length === 0) throw new RangeError('protections must name at least one variant');
  const machine = machineInfo();
  const loadAverage = loadavg();
  const started = performance.now();
  const runs: VariantRun[] = [];
  for (const protection of protections) {
    log(`… ${protection}`);
    runs.push(await runVariant(protection, params, log));
  }
  const report: ScenarioReport = {
    machine,
    loadAverage,
    params,
    seconds: (performance.now() - started) / 1000,
    variants: runs.map((r) => analyze(r, params)),
  };
  return { report, runs };
}
