/**
 * Turns one variant's raw record into the numbers the report shows. A request belongs to the phase in which
 * it was sent, except that one sent while healthy, still open when the provider started hanging and not
 * answered by the model belongs to the outage: it was caught by it. "After the trip" means sent after the protection first
 * reported `open` during the outage; a probe is an upstream call sent while the protection was not closed.
 */
import type { Sample } from './load.js';
import type { PhaseName, Protection, ScenarioParams } from './params.js';
import type { UpstreamCall } from './recorder.js';
import type { PhaseMark, VariantRun } from './run.js';

export interface PhaseStats {
  phase: PhaseName;
  seconds: number;
  requests: number;
  /** Responses per second of the phase. */
  throughput: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Shares of responses, 0..1. */
  answered: number;
  degraded: number;
  unavailable: number;
  errors: number;
  /** fallback_level (or 'llm' / '503' / status) → count. */
  levels: Record<string, number>;
  /** Model requests the provider received. */
  upstreamRequests: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssMb: number;
  /** The service's CPU time per response in the phase: what each answer costs, whatever the machine's load. */
  cpuMsPerRequest: number;
}

export interface OutageStats {
  /** ms from the outage's start until the protection first reported `open`; null without a breaker or trip. */
  tripAfterMs: number | null;
  /** ms from the outage's start until the first fallback/503 answered in under `fastMs`. */
  firstFastAnswerMs: number | null;
  /** Requests sent during the hanging phase after the trip. */
  afterTripRequests: number;
  afterTripP99Ms: number | null;
  /** Share of those answered by a fallback or 503 (the bar: all of them). */
  afterTripDegradedOr503: number | null;
  /** Requests sent after the trip (hang and error phases) that took at least the call timeout. */
  afterTripAtTimeout: number;
  /** Upstream calls during the outage (hang + error), split at the trip. */
  outageCalls: number;
  callsBeforeTrip: number;
  callsAfterTrip: number;
  /** Calls after the trip that went out while the circuit was not closed, i.e. probes. */
  probesAfterTrip: number;
  /** ms from the provider's recovery until the protection reported `closed`; null without a breaker. */
  recoveryCloseMs: number | null;
  /** Upstream calls between the provider's recovery and the close (the probes it took). */
  recoveryProbes: number | null;
}

export interface VariantStats {
  protection: Protection;
  phases: PhaseStats[];
  outage: OutageStats;
  peakRssMb: number;
  loopDelayMaxMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const ascending = (values: number[]): number[] => values.sort((a, b) => a - b);

/** The phase each sample belongs to (see the header), or undefined outside the run. */
export function phaseOf(run: VariantRun, s: Sample): PhaseName | undefined {
  const sent = run.phases.find((m) => s.start >= m.start && s.start < m.end);
  if (sent?.phase === 'warmup') {
    const hang = run.phases.find((m) => m.phase === 'hang');
    if (hang && s.kind !== 'answered' && s.start + s.latencyMs > hang.start) return 'hang';
  }
  return sent?.phase;
}

function phaseStats(
  mark: PhaseMark,
  inPhase: readonly Sample[],
  loadErrors: readonly number[],
  cpuBeforeMs: number,
): PhaseStats {
  const lat = ascending(inPhase.map((s) => s.latencyMs));
  // Socket errors and client-side timeouts have no response: they count as errors of the phase they end in.
  const failed = loadErrors.filter((t) => t >= mark.start && t < mark.end).length;
  const n = inPhase.length + failed;
  const count = (kind: Sample['kind']) => inPhase.filter((s) => s.kind === kind).length;
  const share = (kind: Sample['kind']) => (n === 0 ? 0 : (count(kind) + (kind === 'error' ? failed : 0)) / n);
  const levels: Record<string, number> = {};
  for (const s of inPhase) levels[s.level] = (levels[s.level] ?? 0) + 1;
  if (failed > 0) levels.no_response = failed;
  const seconds = (mark.end - mark.start) / 1000;
  return {
    phase: mark.phase,
    seconds,
    requests: n,
    throughput: n / seconds,
    p50Ms: percentile(lat, 50),
    p95Ms: percentile(lat, 95),
    p99Ms: percentile(lat, 99),
    answered: share('answered'),
    degraded: share('degraded'),
    unavailable: share('unavailable'),
    errors: share('error'),
    levels,
    upstreamRequests: mark.upstreamRequests,
    loopDelayP99Ms: mark.service.eventLoop.p99Ms,
    loopDelayMaxMs: mark.service.eventLoop.maxMs,
    rssMb: mark.service.rssMb,
    cpuMsPerRequest: n === 0 ? Number.NaN : (mark.service.cpuMs - cpuBeforeMs) / n,
  };
}

function phase(run: VariantRun, name: PhaseName): PhaseMark {
  const mark = run.phases.find((m) => m.phase === name);
  if (!mark) throw new RangeError(`the run has no ${name} phase`);
  return mark;
}

/** The state in force at `t` (the last change at or before it). */
export function stateAt(states: readonly [number, string][], t: number): string | undefined {
  let state: string | undefined;
  for (const [at, s] of states) {
    if (at > t) break;
    state = s;
  }
  return state;
}

function outageStats(run: VariantRun, p: ScenarioParams): OutageStats {
  const hang = phase(run, 'hang');
  const error = phase(run, 'error');
  const recovery = phase(run, 'recovery');
  const hasBreaker = run.protection !== 'none';
  const { states, calls } = run.timeline;
  const isDegraded = (s: Sample) => s.kind === 'degraded' || s.kind === 'unavailable';

  const trip = hasBreaker
    ? states.find(([t, s]) => t >= hang.start && t < error.end && s === 'open')
    : undefined;
  const tripAt = trip?.[0];

  const fast = run.samples
    .filter((s) => s.start >= hang.start && s.start < error.end && isDegraded(s) && s.latencyMs < p.fastMs)
    .map((s) => s.start + s.latencyMs - hang.start);

  const afterTrip =
    tripAt === undefined ? [] : run.samples.filter((s) => s.start >= tripAt && s.start < hang.end);
  const afterTripLat = ascending(afterTrip.map((s) => s.latencyMs));
  const atTimeout =
    tripAt === undefined
      ? 0
      : run.samples.filter((s) => s.start >= tripAt && s.start < error.end && s.latencyMs >= p.timeoutMs)
          .length;

  const outageCalls = calls.filter(([t]) => t >= hang.start && t < error.end);
  const split = tripAt ?? Number.POSITIVE_INFINITY;
  const after: UpstreamCall[] = outageCalls.filter(([t]) => t >= split);

  let recoveryCloseMs: number | null = null;
  let recoveryProbes: number | null = null;
  if (hasBreaker) {
    const closedAt =
      stateAt(states, recovery.start) === 'closed'
        ? recovery.start
        : states.find(([t, s]) => t >= recovery.start && s === 'closed')?.[0];
    if (closedAt !== undefined) {
      recoveryCloseMs = closedAt - recovery.start;
      // The call that closed the circuit went out before the state flipped; calls let through once closed
      // (the sampler may see the flip a few ms late) are not probes.
      recoveryProbes = calls.filter(
        ([t, s]) => t >= recovery.start && t <= closedAt && s !== 'closed',
      ).length;
    }
  }

  return {
    tripAfterMs: tripAt === undefined ? null : tripAt - hang.start,
    firstFastAnswerMs: fast.length === 0 ? null : Math.min(...fast),
    afterTripRequests: afterTrip.length,
    afterTripP99Ms: afterTrip.length === 0 ? null : percentile(afterTripLat, 99),
    afterTripDegradedOr503:
      afterTrip.length === 0 ? null : afterTrip.filter(isDegraded).length / afterTrip.length,
    afterTripAtTimeout: atTimeout,
    outageCalls: outageCalls.length,
    callsBeforeTrip: outageCalls.length - after.length,
    callsAfterTrip: after.length,
    probesAfterTrip: after.filter(([, s]) => s !== 'closed').length,
    recoveryCloseMs,
    recoveryProbes,
  };
}

export function analyze(run: VariantRun, p: ScenarioParams): VariantStats {
  const byPhase = new Map<PhaseName, Sample[]>();
  for (const s of run.samples) {
    const ph = phaseOf(run, s);
    if (ph === undefined) continue;
    const list = byPhase.get(ph) ?? [];
    list.push(s);
    byPhase.set(ph, list);
  }
  const phases = run.phases.map((m, i) =>
    phaseStats(
      m,
      byPhase.get(m.phase) ?? [],
      run.loadErrors,
      (i === 0 ? run.baseline : run.phases[i - 1]!.service).cpuMs,
    ),
  );
  return {
    protection: run.protection,
    phases,
    outage: outageStats(run, p),
    peakRssMb: run.final.peakRssMb,
    loopDelayMaxMs: Math.max(...phases.map((s) => s.loopDelayMaxMs)),
  };
}
