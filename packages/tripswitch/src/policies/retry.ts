import { BulkheadRejectedError, CircuitOpenError, RetryBudgetExhaustedError } from '../core/errors.js';
import type { StreamOperation } from '../core/stream.js';
import {
  type Clock,
  monotonicClock,
  neverAbortedSignal,
  type Operation,
  type Policy,
  retryAfterOf,
} from '../core/types.js';
import { checkSyncPredicate, notify, syncAnswer } from '../core/user-code.js';
import { checkFunction, checkNumber, contextFor, invoke, MAX_DELAY_MS, misuseOf, sleep } from './internal.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';

/**
 * - `full`: uniform in [0, exponential delay] — the default; spreads a crowd of retries best.
 * - `decorrelated`: uniform in [initial, previous delay × multiplier], capped at `max`.
 * - `none`: exactly `initial × multiplier^(retry - 1)`, capped at `max`.
 */
export type Jitter = 'full' | 'decorrelated' | 'none';

export interface BackoffOptions {
  /** First retry's (pre-jitter) delay in ms. Default 100. */
  readonly initial?: number;
  /** Cap on any backoff delay in ms. Default 10_000. */
  readonly max?: number;
  /** Growth per retry, >= 1. Default 2. */
  readonly multiplier?: number;
  /** Default `'full'`. */
  readonly jitter?: Jitter;
}

export interface RetryInfo {
  /** The failure that is being retried. */
  readonly error: unknown;
  /** The attempt that failed (1 = first try). */
  readonly attempt: number;
  /** Milliseconds the policy waits before the next attempt. */
  readonly delay: number;
}

export interface RetryOptions {
  /** Total tries including the first, >= 1. Default 3. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /**
   * Limit retries to a share of recent calls (options, or a `RetryBudget` shared by several policies).
   * When spent, the call fails with `RetryBudgetExhaustedError` whose `cause` is the last failure.
   */
  readonly budget?: RetryBudgetOptions | RetryBudget;
  /**
   * Further narrows which failures are retried; `attempt` is the attempt that failed. Consulted only for
   * errors the policy would retry anyway (see `RetryPolicy`). Default: retry them all.
   */
  readonly shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Retry a `CircuitOpenError` (after its `retryAfter`). Default false: an open circuit ends the loop. */
  readonly retryOnCircuitOpen?: boolean;
  /** Wait at least an error's `retryAfter` (Retry-After, HF estimated_time) before retrying. Default true. */
  readonly honorRetryAfter?: boolean;
  /** Longest `retryAfter` hint worth waiting for, in ms; a longer one ends the loop with the error. Default 30_000. */
  readonly maxRetryAfter?: number;
  /** Called before each retry sleep (for logs and metrics). A throw or a rejected promise from it is ignored. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Time source for the budget window. */
  readonly clock?: Clock;
  /** Source of jitter in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

const JITTERS: readonly Jitter[] = ['full', 'decorrelated', 'none'];

/**
 * Retries transient failures with exponential backoff and jitter.
 *
 * Never retried, whatever `shouldRetry` says: the caller's own abort, `BulkheadRejectedError` (load
 * shedding), `CircuitOpenError` (unless `retryOnCircuitOpen`), an inner `RetryBudgetExhaustedError`, and any
 * error marked `retryable: false` (e.g. the HTTP classifier's quota-exhausted error). A `retryAfter` hint on
 * the error is the minimum wait; a hint above `maxRetryAfter` gives up at once with that error.
 *
 * The sleep between attempts rejects with `signal.reason` as soon as the caller aborts. The operation sees
 * the attempt number in `ctx.attempt`. When attempts run out the last error is rethrown unchanged.
 */
export class RetryPolicy implements Policy {
  readonly maxAttempts: number;
  readonly budget: RetryBudget | undefined;
  readonly #initial: number;
  readonly #max: number;
  readonly #multiplier: number;
  readonly #jitter: Jitter;
  readonly #shouldRetry: ((err: unknown, attempt: number) => boolean) | undefined;
  readonly #retryOnCircuitOpen: boolean;
  readonly #honorRetryAfter: boolean;
  readonly #maxRetryAfter: number;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #random: () => number;

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = checkNumber('retry maxAttempts', options.maxAttempts ?? 3, 1, 1000, true);
    const backoff = options.backoff ?? {};
    this.#initial = checkNumber('retry backoff.initial', backoff.initial ?? 100, 0, MAX_DELAY_MS);
    this.#max = checkNumber(
      'retry backoff.max',
      backoff.max ?? Math.max(10_000, this.#initial),
      0,
      MAX_DELAY_MS,
    );
    if (this.#max < this.#initial) {
      throw new RangeError(
        `retry backoff.max must be >= backoff.initial (${this.#initial}), got ${this.#max}`,
      );
    }
    this.#multiplier = checkNumber('retry backoff.multiplier', backoff.multiplier ?? 2, 1, 1000);
    const jitter = backoff.jitter ?? 'full';
    if (!JITTERS.includes(jitter)) {
      throw new TypeError(`retry backoff.jitter must be one of ${JITTERS.join(', ')}, got ${String(jitter)}`);
    }
    this.#jitter = jitter;
    if (jitter === 'decorrelated' && this.#initial === 0) {
      throw new RangeError("retry backoff.initial must be > 0 with jitter 'decorrelated' (it grows from it)");
    }
    if (options.budget === undefined) this.budget = undefined;
    else if (options.budget instanceof RetryBudget) this.budget = options.budget;
    else
      this.budget = new RetryBudget({
        ...options.budget,
        clock: options.budget.clock ?? options.clock ?? monotonicClock,
      });
    if (options.shouldRetry !== undefined) {
      checkFunction('retry shouldRetry', options.shouldRetry);
      checkSyncPredicate('retry shouldRetry', options.shouldRetry);
    }
    this.#shouldRetry = options.shouldRetry;
    this.#retryOnCircuitOpen = options.retryOnCircuitOpen ?? false;
    this.#honorRetryAfter = options.honorRetryAfter ?? true;
    this.#maxRetryAfter = checkNumber(
      'retry maxRetryAfter',
      options.maxRetryAfter ?? 30_000,
      0,
      MAX_DELAY_MS,
    );
    if (options.onRetry !== undefined) checkFunction('retry onRetry', options.onRetry);
    this.#onRetry = options.onRetry;
    if (options.random !== undefined) checkFunction('retry random', options.random);
    this.#random = options.random ?? Math.random;
  }

  async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    const misuse = misuseOf(fn, signal, 'retry.execute');
    if (misuse !== undefined) throw misuse;
    if (signal?.aborted) throw signal.reason;
    const { budget } = this;
    budget?.recordCall();
    let previous = this.#initial; // decorrelated jitter's memory
    for (let attempt = 1; ; attempt++) {
      try {
        return await invoke(fn, contextFor(signal, attempt));
      } catch (err) {
        previous = await this.#afterFailure(err, attempt, previous, signal);
      }
    }
  }

  /**
   * A streaming call: retried only while it has produced nothing (resolving the iterable or reading the
   * first chunk failed), under the same rules as `execute`. Once a chunk has reached the consumer a later
   * error is passed on as is: replaying a stream would show the consumer its beginning twice.
   */
  stream<T>(fn: StreamOperation<T>, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    const self = this;
    return (async function* retryStream() {
      if (signal?.aborted) throw signal.reason;
      self.budget?.recordCall();
      let previous = self.#initial;
      for (let attempt = 1; ; attempt++) {
        let upstream: AsyncIterator<T>;
        let first: IteratorResult<T>;
        try {
          upstream = (await invoke(fn, contextFor(signal, attempt)))[Symbol.asyncIterator]();
          first = await upstream.next();
        } catch (err) {
          previous = await self.#afterFailure(err, attempt, previous, signal);
          continue;
        }
        if (first.done) return;
        let finished = false;
        try {
          yield first.value;
          yield* { [Symbol.asyncIterator]: () => upstream };
          finished = true;
        } finally {
          // The consumer stopped at the first chunk (or threw): close the upstream, without waiting on it.
          if (!finished) closeQuietly(upstream);
        }
        return;
      }
    })();
  }

  /** After attempt `attempt` failed with `err`: throws when it must not be retried, else waits; returns the delay. */
  async #afterFailure(
    err: unknown,
    attempt: number,
    previous: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    if (signal?.aborted || attempt >= this.maxAttempts || !this.#retryable(err, attempt)) throw err;
    let delay = this.#backoff(attempt, previous);
    const next = delay;
    if (this.#honorRetryAfter) {
      const hint = retryAfterOf(err);
      if (hint !== undefined) {
        if (hint > this.#maxRetryAfter) throw err;
        if (hint > delay) delay = hint;
      }
    }
    const { budget } = this;
    if (budget !== undefined && !budget.tryAcquire()) throw new RetryBudgetExhaustedError(err);
    // An observer (sync or async) must not change the outcome of the call.
    if (this.#onRetry !== undefined) notify(this.#onRetry, { error: err, attempt, delay });
    await sleep(delay, signal ?? neverAbortedSignal);
    return next;
  }

  /** The pre-hint delay after `attempt` failed. */
  #backoff(attempt: number, previous: number): number {
    const initial = this.#initial;
    const max = this.#max;
    switch (this.#jitter) {
      case 'none':
        return Math.min(max, initial * this.#multiplier ** (attempt - 1));
      case 'full':
        return this.#random() * Math.min(max, initial * this.#multiplier ** (attempt - 1));
      case 'decorrelated': {
        const upper = Math.min(max, previous * this.#multiplier);
        return Math.min(max, initial + this.#random() * Math.max(0, upper - initial));
      }
    }
  }

  #retryable(err: unknown, attempt: number): boolean {
    if (err instanceof CircuitOpenError) {
      if (!this.#retryOnCircuitOpen) return false;
    } else if (err instanceof BulkheadRejectedError || err instanceof RetryBudgetExhaustedError) {
      return false;
    } else if (
      typeof err === 'object' &&
      err !== null &&
      (err as { retryable?: unknown }).retryable === false
    ) {
      return false;
    }
    return (
      this.#shouldRetry === undefined ||
      syncAnswer('retry shouldRetry', this.#shouldRetry(err, attempt)) === true
    );
  }
}

function closeQuietly(it: AsyncIterator<unknown>): void {
  try {
    Promise.resolve(it.return?.()).catch(() => {});
  } catch {
    // A throwing return() leaves nothing to close.
  }
}

/** `retry({ maxAttempts: 3, backoff: { initial: 200 } })` — see `RetryPolicy`. */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
