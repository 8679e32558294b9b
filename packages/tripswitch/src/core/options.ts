import { type BreakerStateSnapshot, parseSnapshot } from './snapshot.js';
import { memoryStore, type StateStore } from './store.js';
import { type CircuitState, type Clock, monotonicClock, systemClock } from './types.js';
import { checkSyncPredicate, contain, decide } from './user-code.js';

/** What a breaker's `openDuration` function is told when it picks the length of the next OPEN period. */
export interface OpenDurationContext {
  /** 1 for the first opening since the circuit was last CLOSED, 2 after a failed probe, and so on. */
  readonly openings: number;
  /** The failure that caused this opening (undefined for a manual `open()`). */
  readonly error: unknown;
}

/** Counts handed to a custom trip rule (`shouldTrip`), like gobreaker's `Counts`. */
export interface Counts {
  /** Failures counting toward `failMax`: consecutive, and within `failWindow` when it is set. */
  readonly consecutiveFailures: number;
  /** Calls, failures and slow calls in the sliding window (0 when no window is configured). */
  readonly windowCalls: number;
  readonly windowFailures: number;
  readonly windowSlowCalls: number;
}

export type ErrorMatcher = (abstract new (...args: never[]) => unknown) | ((err: unknown) => boolean);

export interface CircuitBreakerListener {
  stateChange?(breaker: BreakerRef, from: CircuitState, to: CircuitState): void;
  /** `durationMs` is given when the breaker measures latency (`recordLatency`, `slowCall`). */
  failure?(breaker: BreakerRef, error: unknown, durationMs?: number): void;
  success?(breaker: BreakerRef, durationMs?: number): void;
  rejected?(breaker: BreakerRef, error: unknown): void;
  /** A call whose result counts neither way (caller abort, excluded error, policy rejection). */
  ignored?(breaker: BreakerRef, error: unknown): void;
  storeStatus?(breaker: BreakerRef, status: 'connected' | 'degraded', error: unknown): void;
}

/** The part of a breaker a listener may look at (avoids a circular type import). */
export interface BreakerRef {
  readonly name: string;
  readonly state: CircuitState;
  readonly failCount: number;
  readonly lastFailureAt: number | null;
}

export interface FailureRateOptions {
  /** Failure ratio in (0, 1] that trips the circuit. */
  threshold: number;
  /** Calls needed in the window before the ratio is trusted. Default 20. */
  minimumCalls?: number;
  /** Window length in ms (time-based window). Default 60_000. */
  window?: number;
  /** Buckets the time window is split into. Default 10. */
  buckets?: number;
  /**
   * `'time'` (default): the calls of the last `window` ms. `'count'`: the last `windowSize` calls whatever
   * their age (resilience4j's `slidingWindowType: COUNT_BASED`, its default).
   */
  windowType?: 'time' | 'count';
  /** With `windowType: 'count'`: how many of the latest calls the rate is taken over. Default 100. */
  windowSize?: number;
}

/** Timeouts of `breaker.stream()` calls; each one expiring is a failure that aborts the call's own signal. */
export interface StreamTimeoutOptions {
  /** ms from admission until the first chunk (resolving the iterable included). */
  firstChunk?: number;
  /** ms the upstream may stay silent while the consumer waits for the next chunk. */
  idle?: number;
}

export interface SlowCallOptions {
  /** A call taking at least this many ms is slow. */
  duration: number;
  /** Slow-call ratio in (0, 1] that trips the circuit. Default 1. */
  rateThreshold?: number;
  /** Used when `failureRate` is not set: calls needed in the window. Default 20. */
  minimumCalls?: number;
  /** Used when `failureRate` is not set: window length in ms. Default 60_000. */
  window?: number;
}

export interface CircuitBreakerOptions {
  name?: string;
  failMax?: number;
  failWindow?: number;
  openDuration?: number | ((ctx: OpenDurationContext) => number);
  halfOpenMaxCalls?: number;
  successThreshold?: number;
  /**
   * ms a HALF-OPEN probe may go without a sign of life before it is written off (a failure and a timeout;
   * the circuit re-opens). Each probe has its own deadline: from its admission, restarted by each chunk of a
   * `stream()` probe (or `Permit.progress()`). Default 60_000.
   */
  halfOpenTimeout?: number;
  timeout?: number;
  /** Timeouts for `stream()` (time to first chunk, idle between chunks). */
  streamTimeout?: StreamTimeoutOptions;
  failureRate?: FailureRateOptions;
  slowCall?: SlowCallOptions;
  /** Replaces the built-in trip rules; called after each failure or slow call while CLOSED. */
  shouldTrip?: (counts: Counts) => boolean;
  exclude?: readonly ErrorMatcher[];
  include?: readonly ErrorMatcher[];
  /** A resolved value that is really a failure (e.g. a `Response` with status 503). It is still returned. */
  isFailureResult?: (result: unknown) => boolean;
  /** Upper bound (ms) on an upstream retry hint (`err.retryAfter`) that may keep the circuit OPEN longer; 0 ignores hints. */
  maxRetryAfter?: number;
  /** Keep a latency histogram for `stats()` (on by default when `slowCall` is set). */
  recordLatency?: boolean;
  listeners?: readonly CircuitBreakerListener[];
  clock?: Clock;
  store?: StateStore;
  /** Start in the `disabled` state: every call passes through unrecorded. */
  disabled?: boolean;
  /**
   * A snapshot from `breaker.toJSON()` (JSON round-trip is fine) to start from: state, open-until, counts
   * and window, so a restarted process or a new serverless instance keeps an OPEN circuit open. Validated
   * like every option: a newer format version, another breaker's name or an impossible value throws.
   */
  initialState?: BreakerStateSnapshot;
}

/** Every default in one place (README "Options" mirrors this table). */
export const DEFAULTS = Object.freeze({
  name: 'breaker',
  failMax: 5,
  openDuration: 30_000,
  halfOpenMaxCalls: 1,
  successThreshold: 1,
  halfOpenTimeout: 60_000,
  failureRateMinimumCalls: 20,
  windowMs: 60_000,
  windowBuckets: 10,
  windowSize: 100,
  slowCallRateThreshold: 1,
  maxRetryAfter: 300_000,
});

export interface WindowConfig {
  /** 'time': the last `windowMs`; 'count': the last `size` calls. */
  readonly type: 'time' | 'count';
  readonly size: number;
  readonly windowMs: number;
  readonly buckets: number;
  readonly minimumCalls: number;
  readonly failureThreshold: number | undefined;
  readonly slowDuration: number | undefined;
  readonly slowThreshold: number | undefined;
}

export interface ResolvedOptions {
  readonly name: string;
  readonly failMax: number;
  /** False when only the failure-rate rule should trip (failureRate given, failMax not). */
  readonly consecutiveRule: boolean;
  readonly failWindow: number | undefined;
  readonly openDuration: (ctx: OpenDurationContext) => number;
  readonly halfOpenMaxCalls: number;
  readonly successThreshold: number;
  readonly halfOpenTimeout: number;
  readonly timeout: number | undefined;
  readonly streamTimeout: { readonly firstChunk: number | undefined; readonly idle: number | undefined };
  readonly window: WindowConfig | undefined;
  readonly shouldTrip: ((counts: Counts) => boolean) | undefined;
  readonly exclude: readonly ErrorTest[];
  readonly include: readonly ErrorTest[] | undefined;
  readonly isFailureResult: ((result: unknown) => boolean) | undefined;
  readonly maxRetryAfter: number;
  readonly recordLatency: boolean;
  readonly listeners: readonly CircuitBreakerListener[];
  /** Measures durations: the injected clock, else the monotonic clock (immune to system clock steps). */
  readonly clock: Clock;
  /** Stamps reported times (`lastFailureAt`, `stats().openUntil`): the injected clock, else `Date.now`. */
  readonly wall: Clock;
  readonly store: StateStore;
  readonly disabled: boolean;
  readonly initialState: BreakerStateSnapshot | undefined;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

function integer(name: string, value: unknown, min: number): number {
  if (!isNumber(value) || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

const NO_STREAM_TIMEOUT = Object.freeze({ firstChunk: undefined, idle: undefined });

/** Longest delay setTimeout honours; Node turns anything longer into 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

function duration(name: string, value: unknown, allowZero: boolean, max = Number.MAX_SAFE_INTEGER): number {
  const ok =
    isNumber(value) && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && value <= max;
  if (!ok) {
    const range = `${allowZero ? '>= 0' : '> 0'}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}`;
    throw new RangeError(`${name} must be a finite number of ms ${range}, got ${String(value)}`);
  }
  return value;
}

function ratio(name: string, value: unknown): number {
  if (!isNumber(value) || value <= 0 || value > 1) {
    throw new RangeError(`${name} must be a number in (0, 1], got ${String(value)}`);
  }
  return value;
}

function fn<T>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${typeof value}`);
  return value as T;
}

function matchers(name: string, value: unknown): ErrorMatcher[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of error classes or predicates`);
  value.forEach((m, i) => {
    if (typeof m !== 'function')
      throw new TypeError(`${name}[${i}] must be an error class or a predicate function`);
  });
  return value as ErrorMatcher[];
}

function optionalDuration(name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : duration(name, value, false);
}

/** Largest `failMax` accepted together with `failWindow` (its ring holds failMax timestamps). */
export const MAX_WINDOWED_FAIL_MAX = 100_000;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'name',
  'failMax',
  'failWindow',
  'openDuration',
  'halfOpenMaxCalls',
  'successThreshold',
  'halfOpenTimeout',
  'timeout',
  'failureRate',
  'slowCall',
  'shouldTrip',
  'exclude',
  'include',
  'isFailureResult',
  'maxRetryAfter',
  'recordLatency',
  'listeners',
  'clock',
  'store',
  'disabled',
  'initialState',
  'streamTimeout',
]);

function checkKeys(where: string, value: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new TypeError(`${where}unknown option ${JSON.stringify(key)} (known: ${[...known].join(', ')})`);
    }
  }
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${name} must be a boolean, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

function listenerList(value: unknown): CircuitBreakerListener[] {
  if (!Array.isArray(value)) throw new TypeError('listeners must be an array of listener objects');
  value.forEach((l, i) => {
    if (typeof l !== 'object' || l === null) {
      throw new TypeError(`listeners[${i}] must be a listener object, got ${l === null ? 'null' : typeof l}`);
    }
  });
  return value as CircuitBreakerListener[];
}

/** Validates every option once, with a message naming the option and its accepted range. */
export function resolveOptions(options: CircuitBreakerOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const o = options;
  checkKeys('', o, KNOWN_OPTIONS);
  const name = o.name ?? DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
  const failMax = integer('failMax', o.failMax ?? DEFAULTS.failMax, 1);
  const failWindow = optionalDuration('failWindow', o.failWindow);
  // With failWindow the breaker keeps one timestamp per counted failure (8 × failMax bytes): bound it.
  if (failWindow !== undefined && failMax > MAX_WINDOWED_FAIL_MAX) {
    throw new RangeError(
      `failMax must be an integer in [1, ${MAX_WINDOWED_FAIL_MAX}] when failWindow is set, got ${failMax}`,
    );
  }

  let openDuration: (ctx: OpenDurationContext) => number;
  if (typeof o.openDuration === 'function') {
    const user = o.openDuration;
    // A user function that returns garbage must not wedge the breaker: fall back to the default.
    openDuration = (ctx) => {
      try {
        const ms = user(ctx);
        contain(ms); // a promise is not a duration; its rejection must not go unhandled
        // Same range as the numeric option: a non-finite, negative or NaN answer falls back to the default,
        // a huge one is clamped to the longest period a timer can honour (~24.8 days).
        return isNumber(ms) && Number.isFinite(ms) && ms >= 0
          ? Math.min(ms, MAX_TIMER_MS)
          : DEFAULTS.openDuration;
      } catch {
        return DEFAULTS.openDuration; // a throwing function must not leave the circuit half-transitioned
      }
    };
  } else {
    const ms = duration('openDuration', o.openDuration ?? DEFAULTS.openDuration, true, MAX_TIMER_MS);
    openDuration = () => ms;
  }

  const halfOpenMaxCalls = integer('halfOpenMaxCalls', o.halfOpenMaxCalls ?? DEFAULTS.halfOpenMaxCalls, 1);
  const successThreshold = integer('successThreshold', o.successThreshold ?? DEFAULTS.successThreshold, 1);
  const halfOpenTimeout = duration('halfOpenTimeout', o.halfOpenTimeout ?? DEFAULTS.halfOpenTimeout, false);
  const timeout = o.timeout === undefined ? undefined : duration('timeout', o.timeout, false, MAX_TIMER_MS);
  const st = o.streamTimeout ?? {};
  if (typeof st !== 'object' || st === null)
    throw new TypeError('streamTimeout must be an object { firstChunk?, idle? }');
  const streamTimeout =
    st.firstChunk === undefined && st.idle === undefined
      ? NO_STREAM_TIMEOUT
      : {
          firstChunk:
            st.firstChunk === undefined
              ? undefined
              : duration('streamTimeout.firstChunk', st.firstChunk, false, MAX_TIMER_MS),
          idle:
            st.idle === undefined ? undefined : duration('streamTimeout.idle', st.idle, false, MAX_TIMER_MS),
        };

  let window: WindowConfig | undefined;
  const fr = o.failureRate;
  const sc = o.slowCall;
  if (fr !== undefined && (typeof fr !== 'object' || fr === null))
    throw new TypeError('failureRate must be an object');
  if (sc !== undefined && (typeof sc !== 'object' || sc === null))
    throw new TypeError('slowCall must be an object');
  if (fr || sc) {
    const windowMs = duration(
      fr ? 'failureRate.window' : 'slowCall.window',
      (fr ? fr.window : sc?.window) ?? DEFAULTS.windowMs,
      false,
    );
    const buckets = integer('failureRate.buckets', fr?.buckets ?? DEFAULTS.windowBuckets, 1);
    if (buckets > 1000)
      throw new RangeError(`failureRate.buckets must be an integer in [1, 1000], got ${buckets}`);
    const type = fr?.windowType ?? 'time';
    if (type !== 'time' && type !== 'count') {
      throw new TypeError(`failureRate.windowType must be 'time' or 'count', got ${String(type)}`);
    }
    const size = integer('failureRate.windowSize', fr?.windowSize ?? DEFAULTS.windowSize, 1);
    if (size > 1_000_000)
      throw new RangeError(`failureRate.windowSize must be an integer in [1, 1000000], got ${size}`);
    window = {
      type,
      size,
      windowMs,
      buckets,
      minimumCalls: integer(
        fr ? 'failureRate.minimumCalls' : 'slowCall.minimumCalls',
        (fr ? fr.minimumCalls : sc?.minimumCalls) ?? DEFAULTS.failureRateMinimumCalls,
        1,
      ),
      failureThreshold: fr ? ratio('failureRate.threshold', fr.threshold) : undefined,
      slowDuration: sc ? duration('slowCall.duration', sc.duration, false) : undefined,
      slowThreshold: sc
        ? ratio('slowCall.rateThreshold', sc.rateThreshold ?? DEFAULTS.slowCallRateThreshold)
        : undefined,
    };
  }

  const clock = o.clock ?? undefined;
  if (clock !== undefined && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
    throw new TypeError('clock must be an object with a now() method returning ms');
  }
  const store = o.store ?? memoryStore;
  if (typeof store !== 'object' || store === null || typeof store.attach !== 'function') {
    throw new TypeError('store must be a StateStore (an object with attach())');
  }
  const listeners = listenerList(o.listeners ?? []);
  const recordLatency = optionalBoolean('recordLatency', o.recordLatency);
  const disabled = optionalBoolean('disabled', o.disabled);

  return {
    name,
    failMax,
    consecutiveRule: o.failMax !== undefined || fr === undefined,
    failWindow,
    openDuration,
    halfOpenMaxCalls,
    successThreshold,
    halfOpenTimeout,
    timeout,
    streamTimeout,
    window,
    shouldTrip: o.shouldTrip === undefined ? undefined : predicate('shouldTrip', o.shouldTrip),
    exclude: o.exclude === undefined ? [] : compileMatchers(matchers('exclude', o.exclude), 'exclude'),
    include: o.include === undefined ? undefined : compileMatchers(matchers('include', o.include), 'include'),
    isFailureResult:
      o.isFailureResult === undefined ? undefined : predicate('isFailureResult', o.isFailureResult),
    maxRetryAfter: duration('maxRetryAfter', o.maxRetryAfter ?? DEFAULTS.maxRetryAfter, true),
    recordLatency: recordLatency ?? sc !== undefined,
    listeners,
    clock: clock ?? monotonicClock,
    wall: clock ?? systemClock,
    store,
    disabled: disabled === true,
    initialState: o.initialState === undefined ? undefined : parseSnapshot(o.initialState, name),
  };
}

/** A matcher compiled once at construction: classes become `instanceof` checks, predicates are guarded. */
export type ErrorTest = (err: unknown) => boolean;

function isClass(m: ErrorMatcher): boolean {
  return (
    m === Error || m.prototype instanceof Error || /^class[\s{]/.test(Function.prototype.toString.call(m))
  );
}

/**
 * A user predicate made safe to call on the hot path: a truthy answer is yes, a throw reads as `false` (it cannot decide), a
 * returned promise raises `UsageError` naming the option (it would otherwise read as truthy). An `async`
 * function is refused here, at construction.
 */
function predicate<A>(name: string, value: unknown): (arg: A) => boolean {
  const test = fn<(arg: A) => unknown>(name, value);
  checkSyncPredicate(name, test);
  return (arg) => decide(name, test, arg);
}

export function compileMatchers(list: readonly ErrorMatcher[], name = 'matcher'): ErrorTest[] {
  return list.map((m, i): ErrorTest => {
    if (isClass(m)) {
      const cls = m as abstract new (...args: never[]) => unknown;
      return (err) => err instanceof cls;
    }
    return predicate(`${name}[${i}]`, m);
  });
}

export function matchesAny(tests: readonly ErrorTest[], err: unknown): boolean {
  for (const test of tests) if (test(err)) return true;
  return false;
}
