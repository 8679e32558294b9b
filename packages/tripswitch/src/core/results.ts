/** The plain shapes a breaker hands out: call results, permits and the stats snapshot. */
import type { TimeoutError } from './errors.js';
import type { LatencySummary } from './latency.js';
import type { StoreStatus } from './store.js';
import type { CircuitState } from './types.js';

/** Result of `tryExecute`: rejections and failures as values, no throw. */
export type ExecuteResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A permit for code that makes the call itself: report exactly one outcome. */
export interface Permit {
  success(): void;
  failure(error?: unknown): void;
  /** The call was abandoned for reasons that say nothing about the upstream (neither outcome). */
  cancel(): void;
  /** Your own deadline for the call passed: always a failure (whatever `include`/`exclude` say), counted in `totals.timeouts`. */
  timedOut(error: TimeoutError): void;
  /**
   * A sign of life from a long call still running (e.g. each chunk of a stream you read yourself). For a
   * HALF-OPEN probe, `halfOpenTimeout` then runs from now instead of from admission (and a shared store's
   * probe lease is extended), so a healthy call longer than `halfOpenTimeout` is not written off. A no-op
   * for an ordinary call, and after an outcome was reported.
   */
  progress(): void;
}

export interface CircuitBreakerStats {
  name: string;
  state: CircuitState;
  generation: number;
  failCount: number;
  lastFailureAt: number | null;
  lastFailure: { name: string; message: string } | null;
  /** ms until a probe may run (0 unless OPEN; Infinity when isolated). */
  retryAfter: number;
  openUntil: number | null;
  halfOpen: { inFlight: number; successes: number } | null;
  totals: {
    calls: number;
    successes: number;
    failures: number;
    rejections: number;
    ignored: number;
    timeouts: number;
    openings: number;
  };
  window: {
    /** 'time': the calls of the last `windowMs`; 'count': the last `size` calls. */
    type: 'time' | 'count';
    windowMs: number | null;
    size: number | null;
    calls: number;
    failures: number;
    slowCalls: number;
    failureRate: number;
    slowCallRate: number;
  } | null;
  latency: LatencySummary | null;
  store: { kind: string; status: StoreStatus };
}
