import { CallSignal } from './call-signal.js';
import type { DeadlineQueue } from './deadlines.js';
import { TimeoutError } from './errors.js';
import { neverAbortedSignal, type Operation } from './types.js';

/** Rejection value of a call whose deadline passed: tells the breaker's own timeout from the operation's. */
export class DeadlineExceeded {
  constructor(readonly error: TimeoutError) {}
}

/**
 * What the owner of timed calls does when one settles, before the caller sees it (the breaker records the
 * outcome here, so it needs no `async` wrapper and no second promise per call). One object shared by every
 * owner of a kind (no closures per breaker); `owner` and `tag` (the breaker's generation) are per call.
 */
export interface TimedCallHooks {
  /** The operation resolved in time. A throw rejects the call with that error instead. */
  value(owner: unknown, tag: number, value: unknown): void;
  /**
   * The operation rejected, its deadline passed (`error` is a `DeadlineExceeded`) or the caller aborted
   * (`outer.aborted`). Returns what the call rejects with.
   */
  error(owner: unknown, tag: number, error: unknown, outer: AbortSignal | undefined): unknown;
}

const plain: TimedCallHooks = {
  value() {},
  error: (_owner, _tag, error) => error,
};

/**
 * One call under a deadline from a `DeadlineQueue`. It is at once the list node, the operation's context
 * and the caller-abort listener (`handleEvent`), so a timed call allocates this object, its promise and two
 * settle callbacks, and nothing else: no timer, and no `AbortController` unless the operation reads
 * `ctx.signal` (see `CallSignal`).
 */
class TimedCall<T> extends CallSignal {
  readonly #queue: DeadlineQueue;
  readonly #outer: AbortSignal | undefined;
  readonly #hooks: TimedCallHooks;
  readonly #owner: unknown;
  readonly #tag: number;
  resolve: ((value: T) => void) | undefined = undefined;
  reject: ((reason: unknown) => void) | undefined = undefined;

  constructor(
    queue: DeadlineQueue,
    outer: AbortSignal | undefined,
    attempt: number,
    hooks: TimedCallHooks,
    owner: unknown,
    tag: number,
  ) {
    super(attempt);
    this.#queue = queue;
    this.#outer = outer;
    this.#hooks = hooks;
    this.#owner = owner;
    this.#tag = tag;
  }

  /** The operation resolved: record, then resolve (the first settlement wins). */
  ok(value: T): void {
    const { resolve, reject } = this;
    if (resolve === undefined || reject === undefined) return;
    this.#finish();
    try {
      this.#hooks.value(this.#owner, this.#tag, value);
    } catch (err) {
      reject(err);
      return;
    }
    resolve(value);
  }

  /** The operation rejected, timed out or was abandoned by its caller. */
  fail(error: unknown): void {
    const reject = this.reject;
    if (reject === undefined) return;
    this.#finish();
    let reason: unknown;
    try {
      reason = this.#hooks.error(this.#owner, this.#tag, error, this.#outer);
    } catch (err) {
      reason = err;
    }
    reject(reason);
  }

  #finish(): void {
    this.resolve = undefined;
    this.reject = undefined;
    this.#queue.delete(this);
    this.#outer?.removeEventListener('abort', this);
  }

  /** The deadline passed: settle first (an operation that rejects in its abort handler must not win), then abort. */
  override expire(): void {
    if (this.reject === undefined) return;
    const error = new TimeoutError(this.#queue.ms);
    this.fail(new DeadlineExceeded(error));
    this.abortCall(error);
  }

  /** The caller's signal aborted (EventListener object: no closure per call). */
  handleEvent(): void {
    if (this.reject === undefined) return;
    const reason = this.#outer!.reason;
    this.fail(reason);
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
 * signal). `hooks` see each outcome first and pick the rejection reason. A synchronous result never enters
 * the queue.
 */
export function runWithDeadline<T>(
  queue: DeadlineQueue,
  fn: Operation<T>,
  outer: AbortSignal | undefined,
  attempt = 1,
  hooks: TimedCallHooks = plain,
  owner: unknown = undefined,
  tag = 0,
): Promise<T> {
  if (outer?.aborted) return Promise.reject(outer.reason);
  const listens = outer !== undefined && outer !== neverAbortedSignal;
  const call = new TimedCall<T>(queue, listens ? outer : undefined, attempt, hooks, owner, tag);
  return new Promise<T>((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
    let work: PromiseLike<T> | T;
    try {
      work = fn(call);
    } catch (err) {
      call.fail(err);
      return;
    }
    if (!isThenable(work)) {
      call.ok(work);
      return;
    }
    queue.add(call);
    if (listens) {
      outer.addEventListener('abort', call);
      if (outer.aborted) call.handleEvent(); // the operation itself aborted the caller's signal
    }
    work.then(
      (value) => call.ok(value),
      (err: unknown) => call.fail(err),
    );
  });
}
