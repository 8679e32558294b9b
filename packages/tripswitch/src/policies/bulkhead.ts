import { Deadline, DeadlineQueue } from '../core/deadlines.js';
import { BulkheadRejectedError } from '../core/errors.js';
import type { StreamOperation } from '../core/stream.js';
import type { Operation, Policy } from '../core/types.js';
import { checkNumber, contextFor, invoke, misuseOf } from './internal.js';

export interface BulkheadOptions {
  /** Operations allowed to run at once, >= 1. */
  readonly maxConcurrent: number;
  /** Callers allowed to wait for a slot (FIFO), >= 0. Default 0: reject as soon as all slots are busy. */
  readonly maxQueue?: number;
  /**
   * ms a queued caller waits for a slot at most, then it is rejected with `BulkheadRejectedError`
   * (`waited` set); > 0. Default: no bound but the caller's signal (resilience4j's `maxWaitDuration`).
   */
  readonly maxWaitDuration?: number;
}

/**
 * A queued caller; the queue is a doubly linked list so an aborted waiter leaves it in O(1). With
 * `maxWaitDuration` it is also its own deadline in the policy's `DeadlineQueue` (one timer for all waiters).
 */
class Waiter extends Deadline {
  onAbort: (() => void) | undefined = undefined;
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** Set while queued with a wait bound: leaves the queue and rejects. */
  onExpire: (() => void) | undefined = undefined;

  constructor(
    readonly resolve: () => void,
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignal | undefined,
  ) {
    super();
  }

  expire(): void {
    this.onExpire?.();
  }
}

/**
 * Caps concurrent operations and the number of callers waiting for one. Beyond the queue, calls are rejected
 * at once with `BulkheadRejectedError` (a rejection, never an upstream failure). A queued caller whose signal
 * aborts leaves the queue and rejects with `signal.reason`. A finishing operation hands its slot straight to
 * the oldest waiter, so newcomers cannot overtake the queue. With `maxWaitDuration`, a caller still queued
 * after that long is rejected with `BulkheadRejectedError` too.
 *
 * Where it goes in a pipeline: a bulkhead that queues (`maxQueue` > 0) belongs outside the breaker and its
 * timeout — otherwise time spent waiting for a slot runs on the call's deadline, and a busy service records
 * provider timeouts for calls that never reached the provider. A bulkhead that never queues can go anywhere.
 */
export class BulkheadPolicy implements Policy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** ms a queued caller waits at most; undefined: unbounded. */
  readonly maxWaitDuration: number | undefined;
  readonly #waits: DeadlineQueue | undefined;
  #running = 0;
  #queued = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;

  constructor(options: BulkheadOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        'bulkhead options must be an object { maxConcurrent, maxQueue?, maxWaitDuration? }',
      );
    }
    this.maxConcurrent = checkNumber('bulkhead maxConcurrent', options.maxConcurrent, 1, 2 ** 31, true);
    this.maxQueue = checkNumber('bulkhead maxQueue', options.maxQueue ?? 0, 0, 2 ** 31, true);
    this.maxWaitDuration =
      options.maxWaitDuration === undefined
        ? undefined
        : checkNumber('bulkhead maxWaitDuration', options.maxWaitDuration, 1, 2_147_483_647, true);
    this.#waits = this.maxWaitDuration === undefined ? undefined : new DeadlineQueue(this.maxWaitDuration);
  }

  /** Operations running now. */
  get running(): number {
    return this.#running;
  }

  /** Callers waiting for a slot now. */
  get queued(): number {
    return this.#queued;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    const misuse = misuseOf(fn, signal, 'bulkhead.execute');
    if (misuse !== undefined) return Promise.reject(misuse);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#running < this.maxConcurrent) {
      this.#running++;
      return this.#run(fn, signal);
    }
    return this.#acquire(signal).then(() => this.#run(fn, signal));
  }

  /**
   * A streaming call under the bulkhead: the slot is taken at the first read (queueing like `execute`) and
   * held until the stream ends, fails or its consumer stops (`break`), then handed on.
   */
  stream<T>(fn: StreamOperation<T>, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    const self = this;
    return (async function* bulkheadStream() {
      await self.#acquire(signal);
      try {
        yield* await invoke(fn, contextFor(signal, 1));
      } finally {
        self.#release();
      }
    })();
  }

  /** Resolves once a slot is held by this caller (counted in `running`); rejects when full or aborted. */
  #acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#running < this.maxConcurrent) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#queued >= this.maxQueue) {
      return Promise.reject(new BulkheadRejectedError(this.maxConcurrent, this.maxQueue));
    }
    return this.#wait(signal).then(() => {
      // The caller may have aborted between the hand-over and this continuation: pass the slot on.
      if (signal?.aborted) {
        this.#release();
        throw signal.reason;
      }
    });
  }

  async #run<T>(fn: Operation<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await invoke(fn, contextFor(signal, 1));
    } finally {
      this.#release();
    }
  }

  /** Resolves when a slot has been handed to this caller (already counted in `running`). */
  #wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(resolve, reject, signal);
      waiter.prev = this.#tail;
      if (this.#tail === undefined) this.#head = waiter;
      else this.#tail.next = waiter;
      this.#tail = waiter;
      this.#queued++;
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#leave(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      const waits = this.#waits;
      if (waits !== undefined) {
        waiter.onExpire = () => {
          this.#leave(waiter);
          reject(new BulkheadRejectedError(this.maxConcurrent, this.maxQueue, waits.ms));
        };
        waits.add(waiter);
      }
    });
  }

  /** A waiter leaves the queue without a slot (aborted or waited too long). */
  #leave(waiter: Waiter): void {
    this.#unlink(waiter);
    this.#waits?.delete(waiter);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  #release(): void {
    const waiter = this.#head;
    if (waiter === undefined) {
      this.#running--;
      return;
    }
    // The slot passes to the waiter: `running` stays the same.
    this.#leave(waiter);
    waiter.resolve();
  }

  #unlink(waiter: Waiter): void {
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.#queued--;
  }
}

/** `bulkhead({ maxConcurrent: 10, maxQueue: 50, maxWaitDuration: 5_000 })` — see `BulkheadPolicy`. */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
