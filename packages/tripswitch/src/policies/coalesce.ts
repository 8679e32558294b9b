import { CallSignal } from '../core/call-signal.js';
import type { Operation, Policy } from '../core/types.js';
import { neverAbortedSignal } from '../core/types.js';
import { checkFunction, invoke, misuseOf } from './internal.js';

export interface CoalesceOptions<I = undefined> {
  /**
   * What makes two calls identical. A string: every call through `execute` shares one flight at a time.
   * A function: called with the input given to `for(input)` (and with `undefined` by `execute`); it must
   * return a string, e.g. `(prompt) => model + '\u0000' + prompt`.
   */
  readonly key: string | ((input: I) => string);
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal;
  onAbort: (() => void) | undefined;
}

/**
 * One shared execution. It is also the operation's context: the shared signal is created only if the
 * operation reads it, and is aborted only when the last waiter has left.
 */
class Flight extends CallSignal {
  /** Callers with a signal of their own: each has its own promise so it can leave alone. */
  readonly waiters = new Set<Waiter>();
  /** Callers without a signal (they cannot leave) share one promise: no allocation per such caller. */
  shared: Promise<unknown> | undefined = undefined;
  sharedWaiters = 0;
  resolveShared: ((value: unknown) => void) | undefined = undefined;
  rejectShared: ((reason: unknown) => void) | undefined = undefined;
  settled = false;

  /** Callers still waiting. */
  get size(): number {
    return this.waiters.size + this.sharedWaiters;
  }

  constructor(readonly key: string) {
    super(1);
  }
}

/**
 * Request coalescing ("single flight"): concurrent calls with the same key share one execution of the
 * operation, so a hundred users asking the same question while the model is slow cost one upstream call.
 *
 * - The operation run is the first caller's; later callers with the same key join it until it settles, and
 *   each receives the same value (the same object: do not mutate it) or the same error, exactly once.
 * - A caller whose signal aborts leaves alone: it rejects with its `signal.reason`, the others keep waiting.
 *   When the last caller has left, the shared call's own `ctx.signal` is aborted (with that caller's reason)
 *   and the key is free: the next caller starts a fresh execution. Use `ctx.signal`, never one caller's
 *   signal, inside the operation.
 * - Nothing is kept after settlement: the map holds only keys in flight (bounded by concurrency). This is
 *   not a cache; put a cache in front if results should outlive the call.
 *
 * In a `pipeline`, put it outside the breaker (one upstream call is one breaker outcome) and inside the
 * fallback: `pipeline(fallback(x), dedupe.for(prompt), retry(...), breaker)`.
 */
export class CoalescePolicy<I = undefined> implements Policy {
  readonly #key: string | ((input: I) => string);
  readonly #flights = new Map<string, Flight>();

  constructor(options: CoalesceOptions<I>) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('coalesce options must be an object { key }');
    }
    if (typeof options.key !== 'string') checkFunction('coalesce key', options.key);
    this.#key = options.key;
  }

  /** Keys with an execution in flight now. */
  get inFlight(): number {
    return this.#flights.size;
  }

  /** Callers waiting on the execution for `key` now (0 when none is in flight). */
  waiters(key: string): number {
    return this.#flights.get(key)?.size ?? 0;
  }

  /** Runs `fn`, or joins the execution already in flight for this policy's key. */
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    const misuse = misuseOf(fn, signal, 'coalesce.execute');
    if (misuse !== undefined) return Promise.reject(misuse);
    let key: string;
    try {
      key = this.#keyOf(undefined as I);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#run(key, fn, signal);
  }

  /** A `Policy` for one input (its key computed now), sharing this policy's flights: use it in a `pipeline`. */
  for(input: I): Policy {
    const key = this.#keyOf(input);
    return {
      execute: <T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> => {
        const misuse = misuseOf(fn, signal, 'coalesce.execute');
        return misuse === undefined ? this.#run(key, fn, signal) : Promise.reject(misuse);
      },
    };
  }

  #keyOf(input: I): string {
    const key = typeof this.#key === 'string' ? this.#key : this.#key(input);
    if (typeof key !== 'string') throw new TypeError(`coalesce key must return a string, got ${typeof key}`);
    return key;
  }

  #run<T>(key: string, fn: Operation<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let flight = this.#flights.get(key);
    const starts = flight === undefined;
    if (flight === undefined) {
      flight = new Flight(key);
      this.#flights.set(key, flight);
    }
    const f = flight;
    const joined =
      signal === undefined || signal === neverAbortedSignal ? joinShared(f) : this.#joinOwn(f, signal);
    if (starts) {
      invoke(fn, f).then(
        (value) => this.#settle(f, true, value),
        (err: unknown) => this.#settle(f, false, err),
      );
    }
    return joined as Promise<T>;
  }

  /** A caller with a signal: a promise of its own, left (rejected with the signal's reason) on abort. */
  #joinOwn(f: Flight, s: AbortSignal): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal: s, onAbort: undefined };
      f.waiters.add(waiter);
      waiter.onAbort = () => this.#leave(f, waiter, s.reason);
      s.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  #leave(flight: Flight, waiter: Waiter, reason: unknown): void {
    if (!flight.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (flight.size === 0 && !flight.settled) {
      // Nobody is waiting any more: free the key and stop the shared call.
      if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
      flight.abortCall(reason);
    }
  }

  #settle(flight: Flight, ok: boolean, outcome: unknown): void {
    flight.settled = true;
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    for (const waiter of flight.waiters) {
      if (waiter.onAbort !== undefined) waiter.signal.removeEventListener('abort', waiter.onAbort);
      if (ok) waiter.resolve(outcome);
      else waiter.reject(outcome);
    }
    flight.waiters.clear();
    flight.sharedWaiters = 0;
    if (ok) flight.resolveShared?.(outcome);
    else flight.rejectShared?.(outcome);
  }
}

/** A caller without a signal: the flight's shared promise (created by the first such caller). */
function joinShared(f: Flight): Promise<unknown> {
  f.sharedWaiters++;
  if (f.shared === undefined) {
    f.shared = new Promise<unknown>((resolve, reject) => {
      f.resolveShared = resolve;
      f.rejectShared = reject;
    });
  }
  return f.shared;
}

/** `coalesce({ key: (prompt: string) => prompt })` — see `CoalescePolicy`. */
export function coalesce<I = undefined>(options: CoalesceOptions<I>): CoalescePolicy<I> {
  return new CoalescePolicy<I>(options);
}
