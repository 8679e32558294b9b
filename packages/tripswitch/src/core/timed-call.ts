import { CallSignal } from './call-signal.js';
import type { DeadlineQueue } from './deadlines.js';
import { TimeoutError } from './errors.js';
import { neverAbortedSignal, type Operation } from './types.js';

/** Rejection value of a call whose deadline passed: tells the breaker's own timeout from the operation's. */
export class DeadlineExceeded {
  constructor(readonly error: TimeoutError) {}
}

/**
 * One call under a deadline from a `DeadlineQueue`. It is at once the list node, the operation's context
 * and the caller-abort listener (`handleEvent`), so a timed call allocates this object, its promise and two
 * settle callbacks, and nothing else: no timer, and no `AbortController` unless the operation reads
 * `ctx.signal` (see `CallSignal`).
 */
class TimedCall<T> extends CallSignal {
  #queue: DeadlineQueue;
  #outer: AbortSignal | undefined;
  #done = false;
  resolve: ((value: T) => void) | undefined = undefined;
  reject: ((reason: unknown) => void) | undefined = undefined;

  constructor(queue: DeadlineQueue, outer: AbortSignal | undefined, attempt: number) {
    super(attempt);
    this.#queue = queue;
    this.#outer = outer;
  }

  /** Ends the call; false when it had ended already (the first settlement wins). */
  finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#queue.delete(this);
    this.#outer?.removeEventListener('abort', this);
    return true;
  }

  /** The deadline passed: settle first (an operation that rejects in its abort handler must not win), then abort. */
  override expire(): void {
    if (!this.finish()) return;
    const error = new TimeoutError(this.#queue.ms);
    this.reject!(new DeadlineExceeded(error));
    this.abortCall(error);
  }

  /** The caller's signal aborted (EventListener object: no closure per call). */
  handleEvent(): void {
    if (!this.finish()) return;
    const reason = this.#outer!.reason;
    this.reject!(reason);
    this.abortCall(reason);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/**
 * Runs `fn` with a deadline of `queue.ms`. Settles with the operation's value or error; with a
 * `DeadlineExceeded` when the deadline passed first (the call's own signal is then aborted with its
 * `TimeoutError`); with `outer.reason` when the caller's signal aborted first (forwarded to the call's own
 * signal). A synchronous result never enters the queue.
 */
export function runWithDeadline<T>(
  queue: DeadlineQueue,
  fn: Operation<T>,
  outer: AbortSignal | undefined,
  attempt = 1,
): Promise<T> {
  if (outer?.aborted) return Promise.reject(outer.reason);
  const listens = outer !== undefined && outer !== neverAbortedSignal;
  const call = new TimedCall<T>(queue, listens ? outer : undefined, attempt);
  let work: PromiseLike<T> | T;
  try {
    work = fn(call);
  } catch (err) {
    call.finish();
    return Promise.reject(err);
  }
  if (!isThenable(work)) {
    call.finish();
    return Promise.resolve(work);
  }
  queue.add(call);
  if (listens) outer.addEventListener('abort', call);
  const pending = work;
  return new Promise<T>((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
    if (listens && outer.aborted) call.handleEvent(); // the operation itself aborted the caller's signal
    pending.then(
      (value) => {
        if (call.finish()) resolve(value);
      },
      (err: unknown) => {
        if (call.finish()) reject(err);
      },
    );
  });
}
