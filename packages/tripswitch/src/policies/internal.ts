/** Helpers shared by the policies. Internal: not re-exported from the package. */
import type { UsageError } from '../core/errors.js';
import { type CallContext, defaultContext, neverAbortedSignal } from '../core/types.js';
import { operationError } from '../core/user-code.js';

/** setTimeout's delay is a signed 32-bit integer; larger values fire at once. */
export const MAX_DELAY_MS = 2_147_483_647;

/** The context for a call: the shared frozen default when there is nothing call-specific to carry. */
export function contextFor(signal: AbortSignal | undefined, attempt: number): CallContext {
  if (attempt === 1 && (signal === undefined || signal === neverAbortedSignal)) return defaultContext;
  return { signal: signal ?? neverAbortedSignal, attempt };
}

/** The caller's mistake in `execute(fn, signal)` (not a function, not a signal), or undefined. */
export function misuseOf(fn: unknown, signal: unknown, where: string): UsageError | undefined {
  return typeof fn === 'function' && signal === undefined ? undefined : operationError(fn, signal, where);
}

/** Runs `fn` and always returns a promise, turning a synchronous throw into a rejection. */
export function invoke<T>(fn: (ctx: CallContext) => PromiseLike<T> | T, ctx: CallContext): Promise<T> {
  try {
    return Promise.resolve(fn(ctx));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Waits `ms`, or rejects with `signal.reason` as soon as the signal aborts. Either way the timer and the
 * listener are gone when the promise settles.
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const listens = signal !== undefined && signal !== neverAbortedSignal;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      if (listens) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (listens) signal.addEventListener('abort', onAbort, { once: true });
  });
}

// --- option validation: every message names the option and the accepted range ---

export function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${typeof value}`);
}

export function checkNumber(name: string, value: unknown, min: number, max: number, integer = false): number {
  const range = `a${integer ? 'n integer' : ' number'} in [${min}, ${max === Number.POSITIVE_INFINITY ? '∞' : max}]`;
  if (typeof value !== 'number') throw new TypeError(`${name} must be ${range}, got ${typeof value}`);
  if (Number.isNaN(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be ${range}, got ${value}`);
  }
  return value;
}
