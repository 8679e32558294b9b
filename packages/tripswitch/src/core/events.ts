import type { CircuitOpenError } from './errors.js';
import type { BreakerRef, CircuitBreakerListener } from './options.js';
import type { StoreStatus } from './store.js';
import type { CircuitState } from './types.js';
import { contain } from './user-code.js';

/** Typed events; the same names as the listener methods (minus the breaker argument). */
export interface CircuitBreakerEvents {
  stateChange: (from: CircuitState, to: CircuitState) => void;
  /** `durationMs` is given when the breaker measures latency (`recordLatency`, `slowCall`). */
  failure: (error: unknown, durationMs: number | undefined) => void;
  success: (durationMs: number | undefined) => void;
  rejected: (error: CircuitOpenError) => void;
  ignored: (error: unknown) => void;
  storeStatus: (status: StoreStatus, error: unknown) => void;
}
export type EventName = keyof CircuitBreakerEvents;
type Handler = (a: never, b: never) => void;

/**
 * A breaker's event dispatch, kept out of the state machine. Arrays exist only for events that have
 * handlers and are replaced on change (copy-on-write), so emitting iterates without copying; `hasSuccess`
 * lets the success path skip dispatch with one field read. A handler's throw never reaches the caller.
 */
export class EventHub {
  /** The hub of a breaker nobody subscribed to: shared, never subscribed to itself (the breaker swaps it). */
  static readonly none: EventHub = new EventHub();
  readonly #handlers: Partial<Record<EventName, Handler[]>> = {};
  /** True while a `success` handler is attached: the hot path reads this field and nothing else. */
  hasSuccess = false;

  has(event: EventName): boolean {
    return this.#handlers[event] !== undefined;
  }

  on<K extends EventName>(event: K, handler: CircuitBreakerEvents[K]): () => void {
    this.#handlers[event] = [...(this.#handlers[event] ?? []), handler as Handler];
    if (event === 'success') this.hasSuccess = true;
    return () => {
      const list: Handler[] = this.#handlers[event] ?? [];
      const i = list.indexOf(handler as Handler);
      if (i < 0) return;
      const next = [...list.slice(0, i), ...list.slice(i + 1)];
      if (next.length === 0) delete this.#handlers[event];
      else this.#handlers[event] = next;
      if (event === 'success') this.hasSuccess = next.length > 0;
    };
  }

  /** Attaches a pybreaker-style listener object for `breaker`; returns the function that detaches it. */
  attach(breaker: BreakerRef, l: CircuitBreakerListener): () => void {
    const offs: Array<() => void> = [];
    if (l.stateChange) offs.push(this.on('stateChange', (from, to) => l.stateChange!(breaker, from, to)));
    if (l.failure) offs.push(this.on('failure', (err, ms) => l.failure!(breaker, err, ms)));
    if (l.success) offs.push(this.on('success', (ms) => l.success!(breaker, ms)));
    if (l.rejected) offs.push(this.on('rejected', (err) => l.rejected!(breaker, err)));
    if (l.ignored) offs.push(this.on('ignored', (err) => l.ignored!(breaker, err)));
    if (l.storeStatus) offs.push(this.on('storeStatus', (s, err) => l.storeStatus!(breaker, s, err)));
    return () => {
      for (const off of offs) off();
    };
  }

  emit(event: EventName, a?: unknown, b?: unknown): void {
    const list = this.#handlers[event];
    if (list === undefined) return;
    for (const handler of list) {
      try {
        // An async handler's rejection is contained like a throw.
        contain((handler as unknown as (x: unknown, y: unknown) => unknown)(a, b));
      } catch {
        // A listener's exception must never break the call or the state machine.
      }
    }
  }
}
