/** The scenario's Markdown tables and JSON twin. */
import { markdownTable } from '../lib/format.js';
import type { MachineInfo } from '../lib/machine.js';
import type { VariantStats } from './analyze.js';
import { describeParams, type ScenarioParams } from './params.js';

export interface ScenarioReport {
  machine: MachineInfo;
  /** 1/5/15-minute load averages when the run started: this machine is shared. */
  loadAverage: number[];
  params: ScenarioParams;
  seconds: number;
  variants: VariantStats[];
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

export function fmtShare(share: number | null): string {
  if (share === null) return 'n/a';
  if (share > 0 && share < 0.01) return '<1%';
  return `${Math.round(share * 100)}%`;
}

export interface BarCheck {
  protection: string;
  met: boolean;
  measured: string;
}

/**
 * DESIGN.md §4: during a hanging-provider outage, after the trip, p99 ≤ 50 ms, every answer degraded or 503,
 * upstream calls ≤ failMax + probes. Calls already in flight when the circuit opened (at most one per
 * other connection) are reported with the pre-trip calls: they were sent while the circuit was closed.
 */
export function barChecks(report: ScenarioReport): BarCheck[] {
  const p = report.params;
  return report.variants
    .filter((v) => v.protection !== 'none')
    .map((v) => {
      const o = v.outage;
      const tripped = o.tripAfterMs !== null;
      const p99ok = o.afterTripP99Ms !== null && o.afterTripP99Ms <= p.fastMs;
      const allDegraded = o.afterTripDegradedOr503 === 1;
      const onlyProbes = o.callsAfterTrip === o.probesAfterTrip;
      const beforeOk = o.callsBeforeTrip <= p.failMax + p.connections - 1;
      return {
        protection: v.protection,
        met: tripped && p99ok && allDegraded && onlyProbes && beforeOk,
        measured: tripped
          ? `p99 ${fmtMs(o.afterTripP99Ms)}, ${fmtShare(o.afterTripDegradedOr503)} degraded or 503, ` +
            `${o.callsBeforeTrip} calls before the trip (failMax ${p.failMax} + ≤ ${p.connections - 1} in flight), ` +
            `${o.callsAfterTrip} after it, of which ${o.probesAfterTrip} probes`
          : 'never tripped',
      };
    });
}

const PHASE_NAMES: Record<string, string> = {
  warmup: 'healthy warm-up',
  hang: 'provider hangs',
  error: 'provider errors',
  recovery: 'recovered',
};

export function renderMarkdown(report: ScenarioReport): string {
  const m = report.machine;
  const load = report.loadAverage.map((l) => l.toFixed(1)).join(' / ');
  const phaseRows = report.variants.flatMap((v) =>
    v.phases.map((s) => [
      v.protection,
      PHASE_NAMES[s.phase] ?? s.phase,
      s.throughput.toFixed(0),
      fmtMs(s.p50Ms),
      fmtMs(s.p95Ms),
      fmtMs(s.p99Ms),
      s.levels.secondary_model
        ? `${fmtShare(s.answered + s.levels.secondary_model / s.requests)} (secondary ${fmtShare(s.levels.secondary_model / s.requests)})`
        : fmtShare(s.answered),
      fmtShare(s.degraded - (s.levels.secondary_model ?? 0) / Math.max(1, s.requests)),
      fmtShare(s.unavailable),
      fmtShare(s.errors),
      String(s.upstreamRequests),
      `${fmtMs(s.loopDelayP99Ms)} / ${fmtMs(s.loopDelayMaxMs)}`,
      fmtMs(s.cpuMsPerRequest),
      `${s.rssMb.toFixed(0)} MB`,
    ]),
  );
  const outageRows = report.variants.map((v) => {
    const o = v.outage;
    const breaker = v.protection !== 'none';
    return [
      v.protection,
      fmtMs(o.tripAfterMs),
      fmtMs(o.firstFastAnswerMs),
      breaker ? fmtMs(o.afterTripP99Ms) : 'n/a',
      breaker ? fmtShare(o.afterTripDegradedOr503) : 'n/a',
      breaker ? `${o.afterTripAtTimeout} (probes ${o.probesAfterTrip})` : 'n/a',
      breaker ? `${o.outageCalls} (${o.callsBeforeTrip} / ${o.callsAfterTrip})` : String(o.outageCalls),
      fmtMs(o.recoveryCloseMs),
      o.recoveryProbes === null ? 'n/a' : String(o.recoveryProbes),
      `${v.peakRssMb.toFixed(0)} MB`,
    ];
  });
  const bars = barChecks(report).map((b) => `- ${b.met ? '✅' : '❌'} ${b.protection}: ${b.measured}`);
  const out = [
    '## Outage scenario',
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}; Node ${m.node}. Date: ${m.date}. ` +
      `Load average at start: ${load}. Total ${report.seconds.toFixed(0)} s.`,
    '',
    ...describeParams(report.params).map((l) => `- ${l}`),
    '',
    '### Per phase',
    '',
    markdownTable(
      [
        'Variant',
        'Phase',
        'req/s',
        'p50',
        'p95',
        'p99',
        'model answered (either model)',
        'degraded',
        '503',
        'errors',
        'upstream calls',
        'loop delay p99 / max',
        'CPU per request',
        'RSS',
      ],
      phaseRows,
    ),
    '',
    '### Outage and recovery',
    '',
    markdownTable(
      [
        'Variant',
        'trip after',
        'first fast answer',
        'p99 after trip',
        'degraded/503 after trip',
        'answers ≥ timeout after trip',
        'upstream calls in outage (before / after trip)',
        'recovery → closed',
        'calls to close',
        'peak RSS',
      ],
      outageRows,
    ),
    '',
    `### Bar (DESIGN.md §4): after the trip in a hanging outage, p99 ≤ ${report.params.fastMs} ms, every answer degraded or 503, upstream calls ≤ failMax + probes`,
    '',
    ...bars,
    '',
    '### Notes',
    '',
    '- Load: autocannon, closed loop (each connection asks again as soon as it is answered), one demo user, ' +
      'questions in a fixed round-robin. Warm-up asks only the "known" half, so those are cached when the ' +
      'provider fails; afterwards it also asks unseen questions (→ excerpts) and off-corpus ones (→ 503).',
    '- A request belongs to the phase in which it was sent (requests in flight when the provider starts hanging ' +
      'that the model then did not answer belong to the outage); "after the trip" = sent after the protection first reported `open`. ' +
      '"First fast answer" = first fallback/503 answered under the fast threshold, from the outage\'s start. ' +
      'Probes = upstream calls sent while the circuit was not closed, recorded inside the service; the state ' +
      'is sampled every 5 ms there, which bounds "recovery → closed".',
    '- Each variant runs the same service in its own process; only the layer around the model client differs. ' +
      'none = an AbortController timer; opossum = timeout, 50% errors over ≥ failMax calls in a window of two ' +
      'timeouts (shorter windows never see a hung call fail), resetTimeout = open duration; cockatiel = ' +
      'ConsecutiveBreaker(failMax) around an aggressive timeout, halfOpenAfter = open duration; tripswitch = the ' +
      "service's LlmGateway.",
    '- Loop delay and CPU per request (service CPU time in the phase ÷ its responses) are measured inside ' +
      'the service process. Absolute times depend on the machine and its load (see the load average above); ' +
      'compare variants within one run.',
  ];
  return `${out.join('\n')}\n`;
}

export function renderJson(report: ScenarioReport): string {
  return `${JSON.stringify({ ...report, bars: barChecks(report) }, null, 2)}\n`;
}
