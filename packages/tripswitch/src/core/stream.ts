import { CallSignal } from './call-signal.js';
import type { DeadlineQueue } from './deadlines.js';
import { TimeoutError, UsageError } from './errors.js';
import { type CallContext, neverAbortedSignal } from './types.js';

/** A call that streams: resolves (or returns) an async iterable of chunks, e.g. LLM tokens. */
export type StreamOperation<T> = (ctx: CallContext) => AsyncIterable<T> | PromiseLike<AsyncIterable<T>>;

/** The outcome sink of one admitted stream (a breaker permit). Exactly one method is called, once. */
export interface StreamPermit {
  success(): void;
  failure(error: unknown): void;
  /** Neither outcome: the consumer or the caller gave up. */
  cancel(): void;
  /** The stream's own timeout: always a failure, whatever `include`/`exclude` say. Defaults to `failure`. */
  timedOut?(error: TimeoutError): void;
  /** A chunk arrived from the upstream (a sign of life: a HALF-OPEN probe's `halfOpenTimeout` restarts). */
  progress?(): void;
}

/** Where a stream gets its admission: `CircuitBreaker.acquirePermit` (rejects with `CircuitOpenError`). */
export interface PermitSource {
  acquirePermit(): Promise<StreamPermit>;
}

/** The two stream deadlines; each queue's `ms` is that timeout. */
export interface StreamDeadlines {
  /** From admission until the first chunk arrives (covers resolving the iterable too). */
  readonly firstChunk?: DeadlineQueue | undefined;
  /** While the consumer waits for each later chunk (a slow consumer never times the upstream out). */
  readonly idle?: DeadlineQueue | undefined;
}

/** The reason a stream's own signal is aborted with when its consumer stops early (`break`, `return()`). */
export class StreamAbandonedError extends Error {
  override readonly name = 'StreamAbandonedError';
  constructor() {
    super('stream abandoned by its consumer');
  }
}

/** What `stream()` returns: an async iterator of the upstream's chunks, closable early like a generator. */
export interface StreamIterator<T> extends AsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stop early (what `break` does): neither outcome; the call's own signal is aborted. */
  return(): Promise<IteratorResult<T, undefined>>;
  /** Stop early like `return()`, then reject with `error`. */
  throw(error?: unknown): Promise<IteratorResult<T, undefined>>;
  [Symbol.asyncIterator](): StreamIterator<T>;
}

const NOT_STARTED = 0;
const RUNNING = 1;
const ENDED = 2;

const doneResult: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * One streaming call through a breaker. Admission happens on the first `next()` (a `CircuitOpenError` is
 * thrown there); the permit (and a HALF-OPEN probe slot) is held until the stream ends, and each chunk from
 * the upstream is reported to it as progress (a probe's `halfOpenTimeout` restarts). Outcomes:
 * - the upstream iterator completes: success;
 * - it throws (or resolving the iterable fails): failure, classified by the permit like `execute`;
 * - no first chunk within `firstChunk.ms`, or silence longer than `idle.ms` while the consumer waits: the
 *   consumer gets `TimeoutError`, the call's own signal is aborted with it, and it counts as a failure;
 * - the consumer stops (`break`, `return()`, `throw()`) or the caller's signal aborts: neither, and the
 *   call's own signal is aborted (with `StreamAbandonedError` or the caller's reason).
 * The upstream iterator's `return()` is called when the call ends early (not awaited: a hung upstream must
 * not hold the consumer).
 */
class BreakerStream<T> extends CallSignal implements StreamIterator<T> {
  #state = NOT_STARTED;
  #permit: StreamPermit | undefined;
  #upstream: AsyncIterator<T> | undefined;
  #armed: DeadlineQueue | undefined;
  /** The settle functions of the wait in progress (upstream vs deadline vs caller abort). */
  #resolveWait: ((value: unknown) => void) | undefined;
  #rejectWait: ((reason: unknown) => void) | undefined;
  /** An error to hand to the next `next()` (the caller aborted while the consumer held a chunk). */
  #pendingError: { error: unknown } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #source: PermitSource;
  readonly #fn: StreamOperation<T>;
  readonly #outer: AbortSignal | undefined;
  readonly #deadlines: StreamDeadlines;

  constructor(
    source: PermitSource,
    fn: StreamOperation<T>,
    outer: AbortSignal | undefined,
    deadlines: StreamDeadlines,
  ) {
    super(1);
    this.#source = source;
    this.#fn = fn;
    this.#outer = outer === neverAbortedSignal ? undefined : outer;
    this.#deadlines = deadlines;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Calls are served one at a time, in order, like an async generator's. */
  next(): Promise<IteratorResult<T, undefined>> {
    const result = this.#queue.then(() => this.#next());
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#abandon();
    return Promise.resolve(doneResult);
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.#abandon();
    return Promise.reject(error);
  }

  async #next(): Promise<IteratorResult<T, undefined>> {
    if (this.#pendingError !== undefined) {
      const { error } = this.#pendingError;
      this.#pendingError = undefined;
      throw error;
    }
    if (this.#state === ENDED) return doneResult;
    if (this.#state === NOT_STARTED) await this.#start();
    if (this.#state === ENDED) return doneResult;
    if (this.#upstream === undefined) {
      // Still before the first chunk: the first-chunk deadline runs since admission.
      let iterable: AsyncIterable<T>;
      try {
        iterable = (await this.#wait(Promise.resolve().then(() => this.#fn(this)))) as AsyncIterable<T>;
      } catch (err) {
        this.#fail(err);
        throw err;
      }
      const open = (iterable as Partial<AsyncIterable<T>> | null)?.[Symbol.asyncIterator];
      if (typeof open !== 'function') {
        // The library's own contract was broken, not the upstream: neither outcome.
        this.#abandon();
        throw new UsageError('stream operation must return (or resolve to) an async iterable');
      }
      try {
        this.#upstream = open.call(iterable);
      } catch (err) {
        this.#fail(err);
        throw err;
      }
    } else if (this.#deadlines.idle !== undefined) {
      this.#arm(this.#deadlines.idle);
    }
    let step: IteratorResult<T>;
    try {
      step = (await this.#wait(this.#upstream.next())) as IteratorResult<T>;
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    this.#disarm();
    if (step.done) {
      this.#end();
      this.#permit?.success();
      return doneResult;
    }
    this.#permit?.progress?.();
    return { done: false, value: step.value };
  }

  async #start(): Promise<void> {
    const outer = this.#outer;
    if (outer?.aborted) {
      this.#state = ENDED;
      throw outer.reason;
    }
    try {
      this.#permit = await this.#source.acquirePermit();
    } catch (err) {
      this.#state = ENDED;
      throw err;
    }
    this.#state = RUNNING;
    if (outer !== undefined) {
      outer.addEventListener('abort', this);
      if (outer.aborted) this.handleEvent();
    }
    if (this.#deadlines.firstChunk !== undefined && this.#state === RUNNING)
      this.#arm(this.#deadlines.firstChunk);
  }

  /** Settled by the first of: `work`, the armed deadline (`expire`), the caller's abort (`handleEvent`). */
  #wait(work: PromiseLike<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#state === ENDED) {
        reject(this.#outer?.reason);
        return;
      }
      this.#resolveWait = resolve;
      this.#rejectWait = reject;
      work.then(
        (value) => {
          if (this.#resolveWait !== resolve) return;
          this.#resolveWait = this.#rejectWait = undefined;
          resolve(value);
        },
        (err: unknown) => {
          if (this.#rejectWait !== reject) return;
          this.#resolveWait = this.#rejectWait = undefined;
          reject(err);
        },
      );
    });
  }

  /** A wait ended by the stream itself (timeout, caller abort): hand the consumer `error` instead. */
  #interrupt(error: unknown): boolean {
    const reject = this.#rejectWait;
    this.#resolveWait = this.#rejectWait = undefined;
    if (reject === undefined) return false;
    reject(new Interrupted(error));
    return true;
  }

  #arm(queue: DeadlineQueue): void {
    if (this.#armed !== undefined && this.#armed !== queue) this.#armed.delete(this);
    this.#armed = queue;
    queue.add(this);
  }

  #disarm(): void {
    this.#armed?.delete(this);
    this.#armed = undefined;
  }

  /** Marks the stream ended and detaches it from its deadline and the caller's signal. */
  #end(): boolean {
    if (this.#state === ENDED) return false;
    this.#state = ENDED;
    this.#disarm();
    this.#outer?.removeEventListener('abort', this);
    return true;
  }

  #fail(err: unknown): void {
    if (err instanceof Interrupted) throw err.error; // already recorded by whoever interrupted
    if (!this.#end()) return;
    this.#permit?.failure(err);
  }

  /** The armed deadline passed while the consumer waited. */
  override expire(): void {
    const queue = this.#armed;
    this.#armed = undefined;
    if (queue === undefined || !this.#end()) return;
    const error = new TimeoutError(queue.ms);
    if (this.#permit?.timedOut !== undefined) this.#permit.timedOut(error);
    else this.#permit?.failure(error);
    this.#interrupt(error);
    this.abortCall(error);
    this.#closeUpstream();
  }

  /** The caller's signal aborted: neither outcome. */
  handleEvent(): void {
    if (!this.#end()) return;
    const reason = this.#outer!.reason;
    this.#permit?.cancel();
    if (!this.#interrupt(reason)) this.#pendingError = { error: reason };
    this.abortCall(reason);
    this.#closeUpstream();
  }

  #abandon(): void {
    const wasRunning = this.#state === RUNNING;
    if (!this.#end() || !wasRunning) return;
    this.#permit?.cancel();
    const reason = new StreamAbandonedError();
    this.#interrupt(reason);
    this.abortCall(reason);
    this.#closeUpstream();
  }

  #closeUpstream(): void {
    const upstream = this.#upstream;
    if (upstream?.return === undefined) return;
    try {
      Promise.resolve(upstream.return()).catch(() => {});
    } catch {
      // An upstream whose return() throws is closed as far as we are concerned.
    }
  }
}

/** Carries the error a stream-side interruption hands to the consumer, so it is not recorded twice. */
class Interrupted {
  constructor(readonly error: unknown) {}
}

/** Runs `fn` as a stream through `source`'s admission; see `BreakerStream` for the semantics. */
export function runStream<T>(
  source: PermitSource,
  fn: StreamOperation<T>,
  signal: AbortSignal | undefined,
  deadlines: StreamDeadlines = {},
): StreamIterator<T> {
  if (typeof fn !== 'function') throw new UsageError(`stream(fn): fn must be a function, got ${typeof fn}`);
  return new BreakerStream(source, fn, signal, deadlines);
}
