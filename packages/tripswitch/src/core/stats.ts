/**
 * `stats()`: a breaker's plain-object snapshot, assembled from its state, totals, window and latency
 * histogram. Cold path: read by dashboards and metrics exporters, never by a call.
 */
import type { BreakerInternals } from './internals.js';
import type { CircuitBreakerStats } from './results.js';
import { describeError } from './user-code.js';

/** The snapshot of `b` now. Reading it performs a due OPEN -> HALF-OPEN move; it never throws. */
export function statsOf(b: BreakerInternals): CircuitBreakerStats {
  const o = b._o;
  const now = o.clock.now();
  const state = b.state;
  let window: CircuitBreakerStats['window'] = null;
  if (b._window && o.window) {
    const t = b._window.totals(now);
    const count = o.window.type === 'count';
    window = {
      type: o.window.type,
      windowMs: count ? null : o.window.windowMs,
      size: count ? o.window.size : null,
      calls: t.calls,
      failures: t.failures,
      slowCalls: t.slowCalls,
      failureRate: t.calls === 0 ? 0 : t.failures / t.calls,
      slowCallRate: t.calls === 0 ? 0 : t.slowCalls / t.calls,
    };
  }
  return {
    name: b.name,
    state,
    generation: b._gen,
    failCount: b.failCount,
    lastFailureAt: b._lastFailureAt,
    lastFailure: b._hasLastError ? describeError(b._lastError) : null,
    retryAfter: b.retryAfter,
    openUntil: state === 'open' ? o.wall.now() + (b._openUntil - now) : null,
    halfOpen: state === 'half-open' ? { inFlight: b._probes, successes: b._probeSuccesses } : null,
    totals: totalsOf(b),
    window,
    latency: b._latency ? b._latency.summary() : null,
    store: b.store,
  };
}

/** The lifetime totals (since construction or the last `reset()`). */
export function totalsOf(b: BreakerInternals): CircuitBreakerStats['totals'] {
  return {
    calls: b._calls,
    successes: b._successes,
    failures: b._failures,
    rejections: b._rejections,
    ignored: b._ignored,
    timeouts: b._timeouts,
    openings: b._openingsTotal,
  };
}
