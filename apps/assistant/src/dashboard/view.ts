import type { BreakerSnapshot, CircuitState } from 'tripswitch';
import type { LastFailure } from '../observability/failures.js';
import type { BreakerRecorder } from './recorder.js';
import type { TimelineSeries } from './timeline.js';

/** Without a breaker-side failure-rate window, the rate shown is over this many recent seconds. */
export const RATE_SECONDS = 60;
/** Seconds of timeline re-sent in each update after the first: the current one may still be filling. */
export const TAIL_SECONDS = 3;

/** One breaker as the page draws it (JSON-safe: no Infinity, no Error objects). */
export interface BreakerView {
  name: string;
  state: CircuitState;
  failCount: number;
  /** Failures / (successes + failures) over `failureRateWindowMs`; null with no calls in it. */
  failureRate: number | null;
  failureRateWindowMs: number;
  /** Calls rejected by the open breaker since it was created or reset. */
  rejected: number;
  calls: number;
  successes: number;
  failures: number;
  openings: number;
  /** ms until a probe may run; 0 when calls are admitted; null when isolated (no probe until an operator acts). */
  retryAfterMs: number | null;
  lastFailureAt: number | null;
  /**
   * Why the last call failed, as a `tripswitch/http` reason (`timeout`, `server_error`, …); null without a
   * failure on record. The stream is unauthenticated, so it never carries upstream text (the admin API does).
   */
  lastErrorKind: string | null;
  /** Whole window on a client's first sight of this breaker (`full`), else the last few seconds. */
  timeline: TimelineSeries & { full: boolean };
}

export interface DashboardSnapshot {
  /** Server clock ms when the snapshot was taken. */
  at: number;
  /** States by code, as used in timeline buckets. */
  states: readonly CircuitState[];
  windowSeconds: number;
  intervalMs: number;
  /** True when operator actions are enabled (ADMIN_TOKEN is set). */
  admin: boolean;
  breakers: BreakerView[];
  /** Answers by the rung of the ladder that produced them. */
  mix: Record<string, number>;
}

export function breakerView(
  snap: BreakerSnapshot,
  recorder: BreakerRecorder,
  nowMs: number,
  full: boolean,
  lastFailure: (name: string, recorded: boolean) => LastFailure | null,
): BreakerView {
  const timeline = recorder.timeline(snap.name);
  let failureRate: number | null = null;
  let failureRateWindowMs = RATE_SECONDS * 1000;
  if (snap.window !== null && snap.window.windowMs !== null && snap.window.calls > 0) {
    // The breaker's own window is what its trip rule sees: prefer it.
    failureRate = snap.window.failureRate;
    failureRateWindowMs = snap.window.windowMs;
  } else if (timeline !== undefined) {
    const t = timeline.totals(nowMs, RATE_SECONDS);
    const settled = t.success + t.failure;
    failureRate = settled === 0 ? null : t.failure / settled;
  }
  const nowSecond = Math.floor(nowMs / 1000);
  const series = timeline?.series(nowMs, full ? Number.NEGATIVE_INFINITY : nowSecond - TAIL_SECONDS + 1) ?? {
    start: nowSecond + 1,
    buckets: [],
  };
  return {
    name: snap.name,
    state: snap.state,
    failCount: snap.failCount,
    failureRate,
    failureRateWindowMs,
    rejected: snap.totals.rejections,
    calls: snap.totals.calls,
    successes: snap.totals.successes,
    failures: snap.totals.failures,
    openings: snap.totals.openings,
    retryAfterMs: Number.isFinite(snap.retryAfter) ? Math.ceil(snap.retryAfter) : null,
    lastFailureAt: snap.lastFailureAt,
    lastErrorKind:
      lastFailure(snap.name, snap.lastFailureAt !== null || snap.lastFailure !== null)?.kind ?? null,
    timeline: { ...series, full },
  };
}
