import { markdownTable } from './format.js';
import type { MachineInfo } from './machine.js';
import type { BarCheck, ResultRow, SuiteResult } from './suite.js';

export interface SuiteOutcome {
  readonly id: string;
  readonly title: string;
  readonly result: SuiteResult;
  readonly seconds: number;
}

export interface Report {
  readonly machine: MachineInfo;
  readonly scale: string;
  readonly seconds: number;
  readonly suites: readonly SuiteOutcome[];
  /** Notes about the whole run (e.g. which build of tripswitch was measured). */
  readonly notes?: readonly string[];
}

function mark(met: boolean | null): string {
  if (met === null) return '⏳';
  return met ? '✅' : '❌';
}

/** The whole run as Markdown: machine line, one table of results and ratios, then the bars. */
export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const rows: string[][] = [];
  for (const s of report.suites) {
    for (const r of s.result.rows) rows.push([r.section, r.case, r.result, r.ratio]);
  }
  const bars: BarCheck[] = report.suites.flatMap((s) => [...s.result.bars]);
  const notes = [...(report.notes ?? []), ...report.suites.flatMap((s) => [...(s.result.notes ?? [])])];
  const out = [
    '## Micro-benchmarks',
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}; Node ${m.node} (V8 ${m.v8}). ` +
      `Load average at start: ${m.load}. Date: ${m.date}. Scale: ${report.scale}; total ${report.seconds.toFixed(0)} s.`,
    '',
    markdownTable(['Benchmark', 'Case', 'Result', 'Ratio'], rows),
    '',
    '### Bars',
    '',
    ...bars.map((b) => `- ${mark(b.met)} ${b.bar} — ${b.measured}`),
  ];
  const method =
    'Timings: mitata batches of 1,024 awaited calls; each contender is timed in interleaved, rotated rounds ' +
    '(p25 of its samples per round) after a discarded warm-up round. ns/op is the median over rounds; a ratio ' +
    'is taken within each round, then the median (min–max over rounds in parentheses).';
  out.push('', '### Notes', '', `- ${method}`, ...notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

/** Machine-readable twin of the Markdown, for tracking ratios across commits. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(
    {
      machine: report.machine,
      scale: report.scale,
      seconds: report.seconds,
      suites: report.suites.map((s) => ({
        id: s.id,
        title: s.title,
        seconds: s.seconds,
        rows: s.result.rows.map((r: ResultRow) => ({ section: r.section, case: r.case, ...r.data })),
        bars: s.result.bars,
        notes: s.result.notes ?? [],
      })),
    },
    null,
    2,
  )}\n`;
}
