/**
 * Calling user code (listeners, hooks, predicates) without letting it break the library. A callback may be
 * an async function: a rejected promise it returns is contained exactly like a throw (no unhandled
 * rejection), and a predicate that returns a promise is a `UsageError`, never read as truthy.
 */
import { UsageError } from './errors.js';
import { sliceCodePoints } from './text.js';

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

/**
 * Asks a user predicate a yes/no question, the one rule for every predicate of the library (breaker
 * `exclude`/`include`/`isFailureResult`/`shouldTrip`, retry `shouldRetry`, fallback `when`): a truthy answer
 * is yes, a throw cannot decide and reads as no (the upstream error stays the error), a returned promise is a
 * `UsageError` naming the predicate.
 */
export function decide<A extends unknown[]>(
  name: string,
  test: (...args: A) => unknown,
  ...args: A
): boolean {
  let answer: unknown;
  try {
    answer = test(...args);
  } catch {
    return false;
  }
  return Boolean(syncAnswer(name, answer));
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
  if (typeof value === 'string') return `a string (${JSON.stringify(sliceCodePoints(value, 40))})`;
  return typeof value;
}

/** `String(value)` that never throws: a null-prototype object or a throwing `toString` gets its tag instead. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[object]'; // a revoked Proxy
    }
  }
}

/** A property of a user value, or undefined when reading it throws (Proxy trap, getter). */
export function safeGet(value: unknown, key: PropertyKey): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * `{ name, message }` of a thrown value, for `stats().lastFailure` and logs; never throws, whatever was thrown
 * (a null-prototype object, a Proxy, throwing getters, `undefined`). Errors give their `name`/`message`
 * (non-string ones are stringified); other values give `typeof` and `String(value)`.
 */
export function describeError(err: unknown): { name: string; message: string } {
  let isError = false;
  try {
    isError = err instanceof Error;
  } catch {
    // a Proxy whose getPrototypeOf trap throws
  }
  if (!isError) return { name: typeof err, message: safeString(err) };
  return { name: safeString(safeGet(err, 'name')), message: safeString(safeGet(err, 'message')) };
}
