/**
 * The breaker's call paths: the CLOSED fast path (default options), timed calls on the breaker's deadline
 * queue, the guarded path (a shared store's first read, admission, HALF-OPEN probes and their cluster
 * lease, latency and window measurement), `tryExecute` and `protect`. `execute` picks one; outcomes are
 * classified by outcome.ts and recorded through the state machine's inputs (`_onSuccess`, `_onFailure`).
 */
import { UsageError } from './errors.js';
import type { BreakerInternals } from './internals.js';
import { FAILURE, IGNORED, isFailureResult, settleError } from './outcome.js';
import { clusterProbeLease } from './permit.js';
import type { ExecuteResult } from './results.js';
import { CLOSED, DISABLED } from './states.js';
import { DeadlineExceeded, runWithDeadline, type TimedCallHooks } from './timed-call.js';
import { defaultContext, type Operation } from './types.js';
import { operationError } from './user-code.js';

/**
 * The CLOSED success path with default options (no timeout, window or latency): a state check, a counter
 * and an `await`; anything unusual goes to `settleError` / `isFailureResult`.
 */
export async function runFast<T>(
  b: BreakerInternals,
  fn: Operation<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  const gen = b._gen;
  b._calls++;
  let result: T;
  try {
    result = await fn(signal === undefined ? defaultContext : { signal, attempt: 1 });
  } catch (err) {
    settleError(b, gen, false, err, signal, false, 0);
    throw err;
  }
  if (b._o.isFailureResult !== undefined && isFailureResult(b, result, gen, false)) {
    b._onFailure(gen, false, result, 0);
    return result;
  }
  if (gen < b._epoch) return result; // admitted before reset(): counts nowhere
  b._successes++;
  // Only the first success after failures has work to do (reset the streak, tell a shared store).
  if (b._consecutive !== 0 && gen === b._gen) b._resetStreak();
  if (b._events.hasSuccess) b._events.emit('success');
  return result;
}

/**
 * Every call that is not on a fast path: waits for a shared store's first read, admits or rejects (after
 * the caller attached its handler), holds a probe slot and lease, measures when a window or the latency
 * histogram needs it, and records the outcome.
 */
export async function runGuarded<T>(
  b: BreakerInternals,
  fn: Operation<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (b._storeReady !== undefined) await b._storeReady;
  if (signal?.aborted) throw signal.reason;
  if (b._code === DISABLED) return fn(signal === undefined ? defaultContext : { signal, attempt: 1 });
  const clock = b._o.clock;
  const now = clock.now();
  const admitted = b._admit(now);
  if (typeof admitted !== 'boolean') {
    const rejection = b._reject(admitted, now);
    // Reject after the caller has attached its handler: a promise rejected before anyone listens goes
    // through Node's unhandled-rejection bookkeeping, which costs more than the rest of the rejection.
    await undefined;
    throw rejection;
  }
  const gen = b._gen;
  const probe = admitted;
  const lease = probe && b._link.shared ? await clusterProbeLease(b, gen) : null;
  b._calls++;
  const measure = b._latency !== undefined || b._window !== undefined;
  const started = measure ? clock.now() : 0;
  let result: T;
  try {
    result =
      b._o.timeout === undefined
        ? await fn(signal === undefined ? defaultContext : { signal, attempt: 1 })
        : await runWithDeadline(b._deadlines!, fn, signal);
  } catch (err) {
    const elapsed = measure ? clock.now() - started : 0;
    let outcome = IGNORED;
    try {
      outcome = settleError(b, gen, probe, err, signal, err instanceof DeadlineExceeded, elapsed);
    } finally {
      if (lease !== null) lease.release(outcome === FAILURE ? 'failure' : 'neutral');
    }
    throw err instanceof DeadlineExceeded ? err.error : err;
  }
  const elapsed = measure ? clock.now() - started : 0;
  let failed: boolean;
  try {
    failed = b._o.isFailureResult !== undefined && isFailureResult(b, result, gen, probe);
  } catch (misuse) {
    lease?.release('neutral');
    throw misuse;
  }
  if (failed) {
    b._onFailure(gen, probe, result, elapsed);
    if (lease !== null) lease.release('failure');
    return result;
  }
  b._onSuccess(gen, probe, elapsed);
  if (lease !== null) lease.release('success');
  return result;
}

/**
 * The CLOSED path when the breaker has a `timeout` and nothing else to measure: a deadline from the
 * breaker's queue (no timer, no AbortController unless read); `timedHooks` record the outcome as the call
 * settles, so there is no async wrapper either.
 */
export function runTimed<T>(
  b: BreakerInternals,
  fn: Operation<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  b._calls++;
  return runWithDeadline(b._deadlines!, fn, signal, 1, timedHooks, b, b._gen);
}

/** Records a timed call's outcome as it settles; one object for every breaker (no closures per breaker). */
const timedHooks: TimedCallHooks = {
  value(owner, gen, result) {
    const b = owner as BreakerInternals;
    if (b._o.isFailureResult !== undefined && isFailureResult(b, result, gen, false)) {
      b._onFailure(gen, false, result, 0);
      return;
    }
    if (gen < b._epoch) return; // admitted before reset(): counts nowhere
    b._successes++;
    if (b._consecutive !== 0 && gen === b._gen) b._resetStreak();
    if (b._events.hasSuccess) b._events.emit('success');
  },
  error(owner, gen, err, signal) {
    const timedOut = err instanceof DeadlineExceeded;
    settleError(owner as BreakerInternals, gen, false, err, signal, timedOut, 0);
    return timedOut ? (err as DeadlineExceeded).error : err;
  },
};

/** `tryExecute`: `execute` with rejections and failures as values; an open circuit allocates no rejected promise. */
export function tryExecute<T>(
  b: BreakerInternals,
  fn: Operation<T>,
  signal: AbortSignal | undefined,
): Promise<ExecuteResult<T>> {
  const misuse = operationError(fn, signal, 'tryExecute');
  if (misuse !== undefined) return Promise.resolve({ ok: false, error: misuse });
  // An already-aborted caller goes the way execute() sends it (its own reason, no rejection counted).
  if (b._code !== CLOSED && b._code !== DISABLED && signal?.aborted !== true) {
    // Decide rejection synchronously so the open-circuit path creates no rejected promise at all.
    const now = b._o.clock.now();
    const rejection = b._admit(now);
    if (typeof rejection !== 'boolean') {
      return Promise.resolve({ ok: false, error: b._reject(rejection, now) });
    }
    if (rejection === true) b._releaseProbeSlot(b._gen); // admitted as probe: give it back, execute re-admits
  }
  return b.execute(fn, signal).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** `protect`: `fn` wrapped so every call goes through `b.execute`, keeping the receiver and the arguments. */
export function protect<This, A extends unknown[], R>(
  b: BreakerInternals,
  fn: (this: This, ...args: A) => R | PromiseLike<R>,
): (this: This, ...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== 'function') {
    throw new UsageError(`protect(fn): fn must be a function, got ${fn === null ? 'null' : typeof fn}`);
  }
  const execute = <T>(op: Operation<T>): Promise<T> => b.execute(op);
  return function protectedCall(this: This, ...args: A): Promise<Awaited<R>> {
    return execute(() => fn.apply(this, args)) as Promise<Awaited<R>>;
  };
}
