/** Shared vocabulary of the library: every policy, the breaker and the stores speak these types. */

/**
 * A source of time in milliseconds. By default durations are measured on `monotonicClock` and reported
 * timestamps come from `systemClock`; an injected clock (`ManualClock` in tests) drives both.
 */
export interface Clock {
  now(): number;
}

/** The system's wall clock, `Date.now()`: epoch ms, but it steps when the system time is set. */
export const systemClock: Clock = { now: () => Date.now() };

// Epoch ms of the monotonic clock's zero, read once: `monotonicClock` starts out equal to Date.now().
const MONOTONIC_EPOCH = Date.now() - performance.now();

/**
 * The default clock for durations (open period, `failWindow`, sliding windows, `halfOpenTimeout`, retry
 * budgets, chaos outage windows): `performance.now()`, which never steps, offset so that it read as epoch
 * ms when the library loaded. A later step of the system clock (NTP, an operator, a VM resume) moves
 * `Date.now()` but not this clock, so it changes no duration.
 */
export const monotonicClock: Clock = { now: () => MONOTONIC_EPOCH + performance.now() };

/**
 * What a protected function receives. `signal` is aborted when this call must stop (its own timeout,
 * the caller's signal); it is never a signal shared with other calls.
 */
export interface CallContext {
  readonly signal: AbortSignal;
  /** 1 for the first try; retries increase it. */
  readonly attempt: number;
}

export type Operation<T> = (ctx: CallContext) => PromiseLike<T> | T;

/**
 * Policies that can also run a streaming call (`breaker`, `timeout`, `retry`, `bulkhead`, pipelines of
 * them): `fn` returns an async iterable of chunks, and so does `stream`.
 */
export interface StreamPolicy {
  stream<T>(
    fn: (ctx: CallContext) => AsyncIterable<T> | PromiseLike<AsyncIterable<T>>,
    signal?: AbortSignal,
  ): AsyncIterableIterator<T>;
}

/** The one shape every policy has (breaker, timeout, retry, bulkhead, fallback, chaos, pipelines). */
export interface Policy {
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T>;
}

export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

/** A signal that never aborts: handed to calls that have neither a caller signal nor a timeout. */
export const neverAbortedSignal: AbortSignal = new AbortController().signal;

/** Context reused for the common case of no signal and first attempt: no allocation per call. */
export const defaultContext: CallContext = Object.freeze({ signal: neverAbortedSignal, attempt: 1 });

/** Errors that carry a hint of how long the upstream asked us to wait (429 Retry-After, HF estimated_time). */
export interface RetryAfterHint {
  /** Milliseconds the upstream asked callers to wait before trying again. */
  readonly retryAfter?: number | undefined;
}

export function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = (err as RetryAfterHint).retryAfter;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
