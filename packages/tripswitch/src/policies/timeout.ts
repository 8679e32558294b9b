import { DeadlineQueue } from '../core/deadlines.js';
import { TimeoutError } from '../core/errors.js';
import { runStream, type StreamIterator, type StreamOperation, type StreamPermit } from '../core/stream.js';
import { DeadlineExceeded, runWithDeadline, type TimedCallHooks } from '../core/timed-call.js';
import type { Operation, Policy } from '../core/types.js';
import { checkNumber, invoke, MAX_DELAY_MS, misuseOf } from './internal.js';

/**
 * - `aggressive`: reject with `TimeoutError` the moment the time is up (and abort the call's signal); the
 *   operation may still be running in the background, but the caller is free.
 * - `cooperative`: abort the call's signal, then wait for the operation to settle before rejecting. Use it
 *   when the operation honours its signal and you must not have it outlive the policy (e.g. it holds a slot).
 */
export type TimeoutStrategy = 'aggressive' | 'cooperative';

export interface TimeoutOptions {
  /** Default `'aggressive'`: a hanging upstream that ignores its signal must not hold the caller. */
  readonly strategy?: TimeoutStrategy;
}

/** A stream under the timeout policy is admitted unconditionally and records nowhere. */
const noPermit: StreamPermit = { success() {}, failure() {}, cancel() {} };
const admitAll = { acquirePermit: () => Promise.resolve(noPermit) };

/** The aggressive strategy rejects with the `TimeoutError` itself, never the internal marker. */
const unwrapTimeout: TimedCallHooks = {
  value() {},
  error: (_owner, _tag, error) => (error instanceof DeadlineExceeded ? error.error : error),
};

/**
 * Gives each call its own deadline and its own signal (never a signal shared by calls in flight), linked to
 * the caller's signal by a listener that is removed when the call settles. With the default `aggressive`
 * strategy all deadlines of a policy are served by one timer (they all have the same length, so they fall
 * due in order: see `DeadlineQueue`) and the call's `AbortController` is created only if it reads `signal`.
 *
 * Outcomes: the operation's own result or error when it settles in time; `TimeoutError` when the deadline
 * passed first (its instance is also the `reason` of the call's signal); the caller's `signal.reason` when
 * the caller aborted first.
 */
export class TimeoutPolicy implements Policy {
  readonly ms: number;
  readonly strategy: TimeoutStrategy;
  readonly #deadlines: DeadlineQueue;

  constructor(ms: number, options: TimeoutOptions = {}) {
    this.ms = checkNumber('timeout ms', ms, 1, MAX_DELAY_MS);
    const strategy = options.strategy ?? 'aggressive';
    if (strategy !== 'aggressive' && strategy !== 'cooperative') {
      throw new TypeError(`timeout strategy must be 'aggressive' or 'cooperative', got ${String(strategy)}`);
    }
    this.strategy = strategy;
    this.#deadlines = new DeadlineQueue(this.ms);
  }

  /**
   * A streaming call: `ms` bounds the wait for the first chunk and, while the consumer waits, for each
   * later one (an idle timeout; a slow consumer never times the upstream out). Expiry rejects the pending
   * read with `TimeoutError` and aborts the call's own signal; the consumer stopping early aborts it too.
   */
  stream<T>(fn: StreamOperation<T>, signal?: AbortSignal): StreamIterator<T> {
    return runStream(admitAll, fn, signal, { firstChunk: this.#deadlines, idle: this.#deadlines });
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    const misuse = misuseOf(fn, signal, 'timeout.execute');
    if (misuse !== undefined) return Promise.reject(misuse);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.strategy === 'aggressive') return runWithDeadline(this.#deadlines, fn, signal, 1, unwrapTimeout);
    const { ms } = this;
    const aggressive = false;
    const controller = new AbortController();

    return new Promise<T>((resolve, reject) => {
      let done = false;
      // Set once the call must fail whatever the operation does: the timeout's error or the caller's reason.
      let abortedWith: { reason: unknown } | undefined;

      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
      };
      const stop = (reason: unknown): void => {
        if (abortedWith !== undefined) return;
        abortedWith = { reason };
        controller.abort(reason);
        if (aggressive && !done) {
          finish();
          reject(reason);
        }
      };
      const onCallerAbort = (): void => stop(signal?.reason);
      const timer = setTimeout(() => stop(new TimeoutError(ms)), ms);
      signal?.addEventListener('abort', onCallerAbort, { once: true });

      invoke(fn, { signal: controller.signal, attempt: 1 }).then(
        (value) => {
          if (done) return;
          finish();
          if (abortedWith === undefined) resolve(value);
          else reject(abortedWith.reason);
        },
        (err: unknown) => {
          if (done) return;
          finish();
          reject(abortedWith === undefined ? err : abortedWith.reason);
        },
      );
    });
  }
}

/** `timeout(10_000)` — see `TimeoutPolicy`. */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
