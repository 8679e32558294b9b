/**
 * Knobs of the outage scenario. The seed's numbers (100 users, 30 s timeout, 30 s open) are scaled down to
 * a 2-core machine and a few minutes, keeping the shape DESIGN.md asks for:
 * call timeout ≫ open duration ≫ healthy request latency.
 */

/**
 * `tripswitch+secondary`: tripswitch with a secondary model (LLM_FALLBACK_*) that stays healthy while only
 * the primary model fails — the share of full model answers during the outage is what it buys.
 */
export const PROTECTIONS = ['none', 'opossum', 'cockatiel', 'tripswitch', 'tripswitch+secondary'] as const;
export type Protection = (typeof PROTECTIONS)[number];

export const PHASES = ['warmup', 'hang', 'error', 'recovery'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface ScenarioParams {
  /** Concurrent autocannon connections: the "users". */
  connections: number;
  /** LLM_TIMEOUT_MS: the per-call timeout every variant applies. */
  timeoutMs: number;
  /** BREAKER_OPEN_MS: how long an opened circuit waits before a probe. */
  openMs: number;
  /** BREAKER_FAIL_MAX: consecutive-ish failures that trip the breaker. */
  failMax: number;
  /** Latency of a healthy simulated model answer. */
  simLatencyMs: number;
  /** CACHE_TTL_MS: 0 sends every question to the model; the cache then only serves as the fallback. */
  cacheFreshMs: number;
  /** Phase lengths in ms, in PHASES order. */
  phaseMs: Record<PhaseName, number>;
  /** An answer faster than this counts as "fast" (the DESIGN bar is p99 ≤ 50 ms after the trip). */
  fastMs: number;
  /** Hard cap on requests per variant (autocannon `amount`), a guard against runaway loops. */
  maxRequests: number;
}

/** `npm run bench:scenario`: four variants in about three minutes. */
export const FULL_PARAMS: ScenarioParams = {
  connections: 20,
  timeoutMs: 4_000,
  openMs: 400,
  failMax: 5,
  simLatencyMs: 10,
  cacheFreshMs: 0,
  phaseMs: { warmup: 6_000, hang: 16_000, error: 6_000, recovery: 8_000 },
  fastMs: 50,
  maxRequests: 2_000_000,
};

/**
 * The CI test: same shape, a few seconds per phase. More connections than failMax, so one round of timeouts
 * trips the breaker; a 2 s timeout so a loaded CI machine never makes a fallback answer look like a timeout.
 */
export const QUICK_PARAMS: ScenarioParams = {
  connections: 6,
  timeoutMs: 2_000,
  openMs: 300,
  failMax: 5,
  simLatencyMs: 5,
  cacheFreshMs: 0,
  phaseMs: { warmup: 2_000, hang: 6_000, error: 1_500, recovery: 3_000 },
  fastMs: 50,
  maxRequests: 200_000,
};

function intIn(value: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** Throws RangeError naming the first option out of range, or when the scenario's shape is lost. */
export function checkParams(p: ScenarioParams): ScenarioParams {
  intIn(p.connections, 'connections', 1, 1_000);
  intIn(p.timeoutMs, 'timeoutMs', 10, 600_000);
  intIn(p.openMs, 'openMs', 1, 600_000);
  intIn(p.failMax, 'failMax', 1, 1_000);
  intIn(p.simLatencyMs, 'simLatencyMs', 0, 60_000);
  intIn(p.cacheFreshMs, 'cacheFreshMs', 0, 86_400_000);
  intIn(p.fastMs, 'fastMs', 1, 60_000);
  intIn(p.maxRequests, 'maxRequests', 1, 100_000_000);
  for (const phase of PHASES) intIn(p.phaseMs[phase], `phaseMs.${phase}`, 100, 600_000);
  if (!(p.timeoutMs > p.openMs && p.openMs > p.simLatencyMs)) {
    throw new RangeError(
      `timeoutMs > openMs > simLatencyMs is the scenario's shape, got ${p.timeoutMs} / ${p.openMs} / ${p.simLatencyMs}`,
    );
  }
  if (p.phaseMs.hang < p.timeoutMs * 2) {
    throw new RangeError(
      `phaseMs.hang must be at least 2 × timeoutMs (${p.timeoutMs * 2}), got ${p.phaseMs.hang}`,
    );
  }
  return p;
}

export function isProtection(value: string): value is Protection {
  return (PROTECTIONS as readonly string[]).includes(value);
}

/** One line per knob, printed before the run and kept in the report. */
export function describeParams(p: ScenarioParams): string[] {
  const phases = PHASES.map((ph) => `${ph} ${(p.phaseMs[ph] / 1000).toFixed(1)} s`).join(' → ');
  return [
    `users (connections): ${p.connections}; LLM_TIMEOUT_MS ${p.timeoutMs}; BREAKER_OPEN_MS ${p.openMs}; ` +
      `BREAKER_FAIL_MAX ${p.failMax}; healthy model latency ${p.simLatencyMs} ms; CACHE_TTL_MS ${p.cacheFreshMs}`,
    `phases: ${phases}; "fast" answer < ${p.fastMs} ms`,
  ];
}
