/**
 * Calling user code (listeners, hooks, predicates) without letting it break the library. A callback may be
 * an async function: a rejected promise it returns is contained exactly like a throw (no unhandled
 * rejection), and a predicate that returns a promise is a `UsageError`, never read as truthy.
 */
import { UsageError } from './errors.js';

const ignore = (): void => {};

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Swallows a rejection of `value` if it is a promise (a throw is the caller's `try`'s job). */
export function contain(value: unknown): void {
  if (isThenable(value)) {
    try {
      value.then(undefined, ignore);
    } catch {
      // A thenable whose `then` throws has nothing left to contain.
    }
  }
}

/** Runs an observer whose result does not matter: a throw or a rejected promise is contained. */
export function notify<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): void {
  try {
    contain(callback(...args));
  } catch {
    // An observer's exception must never break the call or the state machine.
  }
}

/** True for `async function` / `async () =>`: a predicate that can never answer synchronously. */
export function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction';
}

/** Rejects an `async` predicate at construction, naming the option. */
export function checkSyncPredicate(name: string, fn: unknown): void {
  if (isAsyncFunction(fn)) {
    throw new UsageError(`${name} must be a synchronous function returning a boolean, got an async function`);
  }
}

/**
 * The result of a predicate that must answer synchronously: a promise (contained) becomes a `UsageError`
 * naming the predicate.
 */
export function syncAnswer(name: string, value: unknown): unknown {
  if (!isThenable(value)) return value;
  contain(value);
  throw new UsageError(
    `${name} must be synchronous and return a boolean; it returned a promise (an async predicate cannot decide a call)`,
  );
}

/** The operation handed to `execute`: anything but a function is the caller's mistake, not an upstream failure. */
export function operationError(fn: unknown, signal: unknown, where: string): UsageError | undefined {
  if (typeof fn !== 'function') {
    return new UsageError(`${where}(fn, signal?): fn must be a function, got ${describe(fn)}`);
  }
  if (signal !== undefined && !isSignal(signal)) {
    return new UsageError(
      `${where}(fn, signal?): signal must be an AbortSignal or undefined, got ${describe(signal)}`,
    );
  }
  return undefined;
}

function isSignal(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  return typeof value;
}
