/**
 * Classifying how a call ended, before the state machine hears of it: a breaker timeout is a failure; the
 * caller's own abort, a policy's rejection, an excluded error or one outside `include` counts neither way;
 * any other error is a failure, and so is a value `isFailureResult` rejects. The verdict is passed on to
 * the breaker's `_onFailure` / `_onIgnored`.
 */

import { isPolicyRejection } from './errors.js';
import type { BreakerInternals } from './internals.js';
import { matchesAny } from './options.js';
import type { DeadlineExceeded } from './timed-call.js';

/** What `settleError` recorded. */
export const FAILURE = 1;
export const IGNORED = 2;

/**
 * Classify a thrown error of a call admitted in generation `gen` and record it; returns `FAILURE` or
 * `IGNORED`. `timedOut`: `err` is the `DeadlineExceeded` of the breaker's own `timeout` (counted in
 * `totals.timeouts`, recorded as its `TimeoutError`). `elapsed` in ms, 0 when not measured.
 */
export function settleError(
  b: BreakerInternals,
  gen: number,
  probe: boolean,
  err: unknown,
  signal: AbortSignal | undefined,
  timedOut: boolean,
  elapsed: number,
): number {
  if (timedOut) {
    b._onTimeout(gen, probe, (err as DeadlineExceeded).error, elapsed);
    return FAILURE;
  }
  if (ignores(b, gen, probe, err, signal)) {
    b._onIgnored(gen, probe, err);
    return IGNORED;
  }
  b._onFailure(gen, probe, err, elapsed);
  return FAILURE;
}

/**
 * Whether an error counts neither way: the caller's own abort, a policy's rejection, an excluded error,
 * or one outside `include`. A predicate that returned a promise raises `UsageError`; the call is then
 * recorded as neither before it propagates.
 */
export function ignores(
  b: BreakerInternals,
  gen: number,
  probe: boolean,
  err: unknown,
  signal: AbortSignal | undefined,
): boolean {
  const o = b._o;
  try {
    return (
      signal?.aborted === true || // the caller gave up: the provider did nothing wrong
      isPolicyRejection(err) ||
      matchesAny(o.exclude, err) ||
      (o.include !== undefined && !matchesAny(o.include, err))
    );
  } catch (misuse) {
    b._onIgnored(gen, probe, err);
    throw misuse;
  }
}

/**
 * Whether a resolved value is a failure (`isFailureResult`, compiled by the options: a throw reads as
 * false). Call only when the option is set. A predicate that returned a promise raises `UsageError`: the
 * call is then recorded as neither.
 */
export function isFailureResult(b: BreakerInternals, result: unknown, gen: number, probe: boolean): boolean {
  try {
    return b._o.isFailureResult!(result);
  } catch (misuse) {
    b._onIgnored(gen, probe, misuse);
    throw misuse;
  }
}
