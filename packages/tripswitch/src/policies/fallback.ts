import type { CallContext, Operation } from '../core/types.js';
import { syncAnswer } from '../core/user-code.js';
import { checkFunction, contextFor, invoke, misuseOf } from './internal.js';

/** Computes the substitute result from the failure (`reason`) and the caller's context. */
export type FallbackProducer<R> = (reason: unknown, ctx: CallContext) => R | PromiseLike<R>;

export interface FallbackOptions {
  /** Which failures get the substitute. Default: all of them. The caller's own abort never does. */
  readonly when?: (reason: unknown) => boolean;
}

/**
 * Turns a failure into a substitute result: a fixed value, or a producer `(reason, ctx) => R | Promise<R>`
 * (any function passed is treated as a producer; to fall back to a function value, return it from one).
 *
 * `execute` resolves with `T | R`, so `pipeline(...)` containing a fallback widens its result the same way.
 * Failures for which `when` returns false, and every failure after the caller aborted its signal (nobody is
 * waiting for the substitute), are rethrown unchanged. A failing producer rejects with its own error.
 */
export class FallbackPolicy<R> {
  readonly #producer: FallbackProducer<R> | undefined;
  readonly #value: R | undefined;
  readonly #when: ((reason: unknown) => boolean) | undefined;

  constructor(valueOrProducer: R | FallbackProducer<R>, options: FallbackOptions = {}) {
    if (typeof valueOrProducer === 'function') this.#producer = valueOrProducer as FallbackProducer<R>;
    else this.#value = valueOrProducer;
    if (options.when !== undefined) checkFunction('fallback when', options.when);
    this.#when = options.when;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T | R> {
    const misuse = misuseOf(fn, signal, 'fallback.execute');
    if (misuse !== undefined) return Promise.reject(misuse);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ctx = contextFor(signal, 1);
    return invoke(fn, ctx).then(undefined, (reason: unknown) => {
      if (
        signal?.aborted ||
        (this.#when !== undefined && syncAnswer('fallback when', this.#when(reason)) !== true)
      )
        throw reason;
      return this.#producer === undefined ? (this.#value as R) : this.#producer(reason, ctx);
    });
  }
}

/**
 * `fallback(cachedAnswer)` or `fallback((reason, ctx) => excerptsFor(query), { when: isPolicyRejection })`
 * — see `FallbackPolicy`.
 */
export function fallback<R>(
  valueOrProducer: R | FallbackProducer<R>,
  options?: FallbackOptions,
): FallbackPolicy<R> {
  return new FallbackPolicy<R>(valueOrProducer, options);
}
