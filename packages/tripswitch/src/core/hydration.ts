/**
 * Turning a breaker's state into a portable snapshot and back (`toJSON()` / `initialState`). `exportState`
 * and `hydrate` read and set the breaker's fields through `HydratableState`; `toSnapshot` / `fromSnapshot`
 * do the clock arithmetic: a snapshot carries epoch times and ages, the breaker measures on its own
 * (monotonic or injected) clock.
 */
import { CountWindow } from './count-window.js';
import type { BreakerInternals } from './internals.js';
import { type BreakerStateSnapshot, SNAPSHOT_VERSION } from './snapshot.js';
import { CLOSED, STATE_CODES } from './states.js';
import { totalsOf } from './stats.js';
import type { CircuitState } from './types.js';
import { SlidingWindow } from './window.js';

/** `toJSON()`: reading the state performs a due OPEN -> HALF-OPEN move first. */
export function exportState(b: BreakerInternals): BreakerStateSnapshot {
  const state = b.state;
  const now = b._o.clock.now();
  const hydratable: HydratableState = {
    state,
    openUntil: b._openUntil,
    openings: b._openings,
    consecutive: b._consecutive,
    failTimes: b._failTimes === undefined ? [] : b._failTimes.newest(b._consecutive),
    lastFailureAt: b._lastFailureAt,
    totals: totalsOf(b),
  };
  return toSnapshot(b.name, hydratable, b._window, now, b._o.wall.now());
}

/** `initialState` (constructor only, snapshot already validated): fields set directly, no events, no store writes. */
export function hydrate(b: BreakerInternals, snapshot: BreakerStateSnapshot): void {
  const now = b._o.clock.now();
  const h = fromSnapshot(snapshot, b._window, now, b._o.wall.now());
  const code = STATE_CODES[h.state];
  b._code = code;
  b._openUntil = h.openUntil;
  b._openings = h.openings;
  b._probeProgressAt = now;
  b._consecutive = code === CLOSED ? h.consecutive : 0;
  if (code === CLOSED) b._failTimes?.restore(h.failTimes);
  b._lastFailureAt = h.lastFailureAt;
  const t = h.totals;
  b._calls = t.calls;
  b._successes = t.successes;
  b._failures = t.failures;
  b._rejections = t.rejections;
  b._ignored = t.ignored;
  b._timeouts = t.timeouts;
  b._openingsTotal = t.openings;
}

/** The part of a breaker a snapshot holds; times on the breaker's clock unless named epoch. */
export interface HydratableState {
  state: CircuitState;
  /** Breaker-clock time an OPEN circuit lets a probe through. */
  openUntil: number;
  openings: number;
  consecutive: number;
  /** Breaker-clock failure times of the current streak, newest last. */
  failTimes: number[];
  /** Epoch ms. */
  lastFailureAt: number | null;
  totals: BreakerStateSnapshot['totals'];
}

/** `toJSON()`: `now` is the breaker clock, `wallNow` epoch ms, read at the same moment. */
export function toSnapshot(
  name: string,
  s: HydratableState,
  window: SlidingWindow | CountWindow | undefined,
  now: number,
  wallNow: number,
): BreakerStateSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    name,
    takenAt: wallNow,
    state: s.state,
    openUntil: s.state === 'open' ? wallNow + Math.max(0, s.openUntil - now) : null,
    openings: s.openings,
    failureAges: s.failTimes.map((t) => Math.max(0, now - t)),
    consecutiveFailures: s.consecutive,
    lastFailureAt: s.lastFailureAt,
    window:
      window instanceof CountWindow
        ? window.snapshot()
        : window instanceof SlidingWindow
          ? window.snapshot(now)
          : null,
    totals: { ...s.totals },
  };
}

/**
 * The state to start from, and the window filled in place. A window of another kind or shape than the
 * configured one is left empty (the configuration changed between the two processes; the state and counts
 * still apply). Time that passed since the snapshot counts: an open period may be over, failures may have
 * left `failWindow`, buckets the window.
 */
export function fromSnapshot(
  snap: BreakerStateSnapshot,
  window: SlidingWindow | CountWindow | undefined,
  now: number,
  wallNow: number,
): HydratableState {
  const elapsed = Math.max(0, wallNow - snap.takenAt);
  const takenAt = now - elapsed;
  if (snap.window?.type === 'count' && window instanceof CountWindow) window.restore(snap.window);
  if (snap.window?.type === 'time' && window instanceof SlidingWindow)
    window.restore(snap.window, takenAt, now);
  return {
    state: snap.state,
    openUntil: snap.openUntil === null ? 0 : now + (snap.openUntil - wallNow),
    openings: snap.openings,
    consecutive: snap.consecutiveFailures,
    failTimes: snap.failureAges.map((age) => takenAt - age),
    lastFailureAt: snap.lastFailureAt,
    totals: { ...snap.totals },
  };
}
