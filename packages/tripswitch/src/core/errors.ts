import type { CircuitState } from './types.js';

function openMessage(breakerName: string, state: string, retryAfter: number): string {
  return `circuit "${breakerName}" is ${state}; retry after ${Math.ceil(retryAfter)} ms`;
}

/**
 * Thrown (or returned by `tryExecute`) when the breaker refuses a call. Rejection is the hot path during an
 * outage, so the breaker creates these with `CircuitOpenError.rejecting`, which skips the Error constructor
 * (about 350 ns even without a stack) and computes `message` and `stack` only when read: they are still
 * `instanceof Error` and `instanceof CircuitOpenError`, with a one-line `stack` (it would only point at the
 * breaker). `new CircuitOpenError(...)` builds an ordinary Error.
 */
export class CircuitOpenError extends Error {
  declare readonly name: 'CircuitOpenError';
  readonly breakerName: string;
  readonly state: CircuitState;
  /**
   * Milliseconds until a probe may run: the rest of the open period; while HALF-OPEN probes are busy, the
   * time until the first of them would be written off (`halfOpenTimeout` after its last sign of life: its
   * admission, or a stream probe's last chunk); Infinity when isolated.
   */
  readonly retryAfter: number;

  constructor(breakerName: string, state: CircuitState, retryAfter: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(openMessage(breakerName, state, Math.max(0, retryAfter)));
    Error.stackTraceLimit = limit;
    this.breakerName = breakerName;
    this.state = state;
    this.retryAfter = Math.max(0, retryAfter);
  }

  /** The breaker's cheap constructor (see the class comment). */
  static rejecting(breakerName: string, state: CircuitState, retryAfter: number): CircuitOpenError {
    const error = Object.create(CircuitOpenError.prototype) as {
      -readonly [K in keyof CircuitOpenError]: unknown;
    };
    error.breakerName = breakerName;
    error.state = state;
    error.retryAfter = Math.max(0, retryAfter);
    return error as unknown as CircuitOpenError;
  }
}

// Prototype-level name, message and stack serve instances made by `rejecting` (constructed ones have their
// own message and stack, which take precedence).
Object.defineProperties(CircuitOpenError.prototype, {
  name: { value: 'CircuitOpenError', writable: true, configurable: true },
  message: {
    configurable: true,
    get(this: CircuitOpenError) {
      return openMessage(this.breakerName, this.state, this.retryAfter);
    },
  },
  stack: {
    configurable: true,
    get(this: CircuitOpenError) {
      return `CircuitOpenError: ${this.message}`;
    },
  },
});

/** A call took longer than its allotted time (the breaker's `timeout` or the `timeout` policy). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`operation timed out after ${timeoutMs} ms`);
  }
}

/** The bulkhead refused a call: no slot and no room in its queue, or no slot within `maxWaitDuration`. Never counts as a breaker failure. */
export class BulkheadRejectedError extends Error {
  override readonly name = 'BulkheadRejectedError';
  /**
   * `waited`: ms the caller waited in the queue before giving up (`maxWaitDuration`); undefined when it was
   * refused at once because the queue was full.
   */
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    readonly waited?: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(
      waited === undefined
        ? `bulkhead full: ${maxConcurrent} running and ${maxQueue} queued`
        : `bulkhead: no slot free within ${waited} ms (${maxConcurrent} running)`,
    );
    Error.stackTraceLimit = limit;
  }
}

/** The retry policy refused to retry because its retry budget is spent. Carries the last failure. */
export class RetryBudgetExhaustedError extends Error {
  override readonly name = 'RetryBudgetExhaustedError';
  constructor(override readonly cause: unknown) {
    super('retry budget exhausted', { cause });
  }
}

/**
 * Errors raised by the policies themselves rather than by the protected call (an open circuit, a full
 * bulkhead, a `UsageError` about the caller's code): never upstream failures.
 */
export function isPolicyRejection(err: unknown): boolean {
  return err instanceof CircuitOpenError || err instanceof BulkheadRejectedError || err instanceof UsageError;
}

/**
 * The library was used wrongly (`execute` given something that is not a function, a predicate that returned
 * a promise, …): a `TypeError` with `code: 'ERR_TRIPSWITCH_USAGE'`. It describes the caller's code, not the
 * upstream, so breakers never count it as a failure and retries never retry it (`retryable: false`).
 */
export class UsageError extends TypeError {
  readonly code = 'ERR_TRIPSWITCH_USAGE';
  readonly retryable = false;
}
