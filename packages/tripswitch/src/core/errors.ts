import type { CircuitState } from './types.js';

/**
 * Thrown (or returned by `tryExecute`) when the breaker refuses a call. Creating it skips the stack capture
 * on purpose: rejection is the hot path during an outage, and the stack would only point at the breaker.
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /**
   * Milliseconds until a probe may run: the rest of the open period; while HALF-OPEN probes are busy, the
   * time until they would be written off (`halfOpenTimeout`); Infinity when isolated.
   */
  readonly retryAfter: number;
  constructor(
    readonly breakerName: string,
    readonly state: CircuitState,
    retryAfter: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`circuit "${breakerName}" is ${state}; retry after ${Math.max(0, Math.ceil(retryAfter))} ms`);
    Error.stackTraceLimit = limit;
    this.retryAfter = Math.max(0, retryAfter);
  }
}

/** A call took longer than its allotted time (the breaker's `timeout` or the `timeout` policy). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`operation timed out after ${timeoutMs} ms`);
  }
}

/** The bulkhead is full: no slot and no room in its queue. Never counts as a breaker failure. */
export class BulkheadRejectedError extends Error {
  override readonly name = 'BulkheadRejectedError';
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`bulkhead full: ${maxConcurrent} running and ${maxQueue} queued`);
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

/** Errors raised by the policies themselves rather than by the protected call: never upstream failures. */
export function isPolicyRejection(err: unknown): boolean {
  return err instanceof CircuitOpenError || err instanceof BulkheadRejectedError;
}
