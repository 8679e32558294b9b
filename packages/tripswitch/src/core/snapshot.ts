/**
 * Breaker state as a plain, versioned JSON value (`breaker.toJSON()`) and its validation when it comes back
 * as the `initialState` option: serverless functions and restarts can keep an OPEN circuit open.
 *
 * Times in a snapshot are portable: `takenAt`, `openUntil` and `lastFailureAt` are epoch ms; failure times and
 * window buckets are ages (ms before `takenAt`), so a snapshot means the same on another machine whose
 * monotonic clock has another origin. A snapshot from a newer format version, or with a value that cannot
 * be right (a negative count, an unknown state, failures > calls…) is rejected with an error naming the
 * field; nothing is silently reset.
 */
import type { CircuitState } from './types.js';

/** The format version this build writes and reads. */
export const SNAPSHOT_VERSION = 1;

export interface WindowSnapshotTime {
  readonly type: 'time';
  /** ms per bucket when taken (the window is restored only into a breaker with the same window). */
  readonly bucketMs: number;
  /** Non-empty buckets, `age` in ms between the bucket's start and `takenAt`. */
  readonly buckets: ReadonlyArray<{ age: number; calls: number; failures: number; slowCalls: number }>;
}

export interface WindowSnapshotCount {
  readonly type: 'count';
  readonly size: number;
  /** Outcomes oldest first: 0 success, 1 failure, 2 slow success, 3 slow failure. */
  readonly outcomes: readonly number[];
}

export interface BreakerStateSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  readonly name: string;
  /** Epoch ms when the snapshot was taken. */
  readonly takenAt: number;
  readonly state: CircuitState;
  /** Epoch ms when an OPEN circuit lets a probe through; null unless `state` is 'open'. */
  readonly openUntil: number | null;
  /** Consecutive openings since the circuit was last CLOSED (feeds an `openDuration` backoff). */
  readonly openings: number;
  /** ms before `takenAt` of each failure of the current streak, newest last (at most `failMax`). */
  readonly failureAges: readonly number[];
  /** Length of the current consecutive-failure streak (may exceed `failureAges.length`). */
  readonly consecutiveFailures: number;
  readonly lastFailureAt: number | null;
  readonly window: WindowSnapshotTime | WindowSnapshotCount | null;
  readonly totals: {
    readonly calls: number;
    readonly successes: number;
    readonly failures: number;
    readonly rejections: number;
    readonly ignored: number;
    readonly timeouts: number;
    readonly openings: number;
  };
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated', 'disabled'];
const TOTALS = ['calls', 'successes', 'failures', 'rejections', 'ignored', 'timeouts', 'openings'] as const;

function fail(field: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  throw new RangeError(`initialState.${field} must be ${expected}, got ${shown}`);
}

function count(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(field, 'an integer >= 0', v);
  return v;
}

function time(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'a finite epoch ms >= 0', v);
  return v;
}

function age(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'a finite age in ms >= 0', v);
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks an `initialState` value (already parsed JSON) and returns it typed. Throws a `TypeError` for the
 * wrong shape, a `RangeError` naming the field for an impossible value or a newer version.
 */
export function parseSnapshot(value: unknown, breakerName: string): BreakerStateSnapshot {
  if (!isRecord(value)) throw new TypeError('initialState must be a snapshot object from breaker.toJSON()');
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    fail('version', `an integer in [1, ${SNAPSHOT_VERSION}]`, version);
  }
  if (version > SNAPSHOT_VERSION) {
    throw new RangeError(
      `initialState.version ${version} is newer than this tripswitch reads (up to ${SNAPSHOT_VERSION}); upgrade tripswitch or drop the snapshot`,
    );
  }
  if (value.name !== breakerName) {
    throw new RangeError(
      `initialState is a snapshot of breaker ${JSON.stringify(value.name)}, not ${JSON.stringify(breakerName)}`,
    );
  }
  const takenAt = time('takenAt', value.takenAt);
  const state = value.state as CircuitState;
  if (!STATES.includes(state)) fail('state', `one of ${STATES.join(', ')}`, value.state);
  let openUntil: number | null = null;
  if (state === 'open') openUntil = time('openUntil', value.openUntil);
  else if (value.openUntil !== null && value.openUntil !== undefined)
    fail('openUntil', "null unless state is 'open'", value.openUntil);
  const openings = count('openings', value.openings);
  if (!Array.isArray(value.failureAges)) fail('failureAges', 'an array of ages in ms', value.failureAges);
  const failureAges = value.failureAges.map((a, i) => age(`failureAges[${i}]`, a));
  for (let i = 1; i < failureAges.length; i++) {
    if (failureAges[i]! > failureAges[i - 1]!)
      fail(`failureAges[${i}]`, 'no older than the one before it (newest last)', failureAges[i]);
  }
  const consecutiveFailures = count('consecutiveFailures', value.consecutiveFailures);
  if (consecutiveFailures < failureAges.length) {
    fail('consecutiveFailures', `>= failureAges.length (${failureAges.length})`, consecutiveFailures);
  }
  const lastFailureAt = value.lastFailureAt === null ? null : time('lastFailureAt', value.lastFailureAt);
  if (!isRecord(value.totals)) throw new TypeError('initialState.totals must be an object');
  const t = value.totals;
  const totals = Object.fromEntries(
    TOTALS.map((k) => [k, count(`totals.${k}`, t[k])]),
  ) as BreakerStateSnapshot['totals'];
  if (totals.successes + totals.failures > totals.calls + totals.timeouts) {
    fail('totals', 'successes + failures <= calls (+ timeouts of stuck probes)', JSON.stringify(t));
  }
  return {
    version: SNAPSHOT_VERSION,
    name: breakerName,
    takenAt,
    state,
    openUntil,
    openings,
    failureAges,
    consecutiveFailures,
    lastFailureAt,
    window: parseWindow(value.window),
    totals,
  };
}

function parseWindow(w: unknown): BreakerStateSnapshot['window'] {
  if (w === null || w === undefined) return null;
  if (!isRecord(w)) throw new TypeError('initialState.window must be an object or null');
  if (w.type === 'count') {
    const size = count('window.size', w.size);
    if (size < 1) fail('window.size', 'an integer >= 1', size);
    if (!Array.isArray(w.outcomes) || w.outcomes.length > size) {
      fail('window.outcomes', `an array of at most ${size} outcomes`, w.outcomes);
    }
    const outcomes = w.outcomes.map((o, i) => {
      if (o !== 0 && o !== 1 && o !== 2 && o !== 3) fail(`window.outcomes[${i}]`, '0, 1, 2 or 3', o);
      return o as number;
    });
    return { type: 'count', size, outcomes };
  }
  if (w.type === 'time') {
    const bucketMs = w.bucketMs;
    if (typeof bucketMs !== 'number' || !Number.isFinite(bucketMs) || bucketMs <= 0) {
      fail('window.bucketMs', 'a finite number of ms > 0', bucketMs);
    }
    if (!Array.isArray(w.buckets) || w.buckets.length > 1000)
      fail('window.buckets', 'an array of at most 1000 buckets', w.buckets);
    const buckets = w.buckets.map((b, i) => {
      if (!isRecord(b)) throw new TypeError(`initialState.window.buckets[${i}] must be an object`);
      const calls = count(`window.buckets[${i}].calls`, b.calls);
      const failures = count(`window.buckets[${i}].failures`, b.failures);
      const slowCalls = count(`window.buckets[${i}].slowCalls`, b.slowCalls);
      if (failures > calls || slowCalls > calls)
        fail(`window.buckets[${i}]`, 'failures and slowCalls <= calls', JSON.stringify(b));
      return { age: age(`window.buckets[${i}].age`, b.age), calls, failures, slowCalls };
    });
    return { type: 'time', bucketMs, buckets };
  }
  return fail('window.type', "'time' or 'count'", w.type);
}
