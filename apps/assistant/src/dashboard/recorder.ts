import type { BreakerRegistry, CircuitBreaker, CircuitState, Clock } from 'tripswitch';
import { Timeline } from './timeline.js';

export interface StateChange {
  breaker: string;
  from: CircuitState;
  to: CircuitState;
  /** Clock ms when the change was seen. */
  at: number;
}

interface Tracked {
  timeline: Timeline;
  detach: () => void;
}

/**
 * Keeps a timeline for every breaker in a registry, present and future, fed by the breakers' own events,
 * and relays state changes to whoever listens (the SSE hub). Breakers leaving the registry are detached.
 */
export class BreakerRecorder {
  readonly #clock: Clock;
  readonly #seconds: number;
  readonly #tracked = new Map<string, Tracked>();
  readonly #listeners = new Set<(change: StateChange) => void>();
  readonly #unsubscribe: Array<() => void>;

  constructor(registry: BreakerRegistry, options: { seconds: number; clock: Clock }) {
    this.#clock = options.clock;
    this.#seconds = options.seconds;
    this.#unsubscribe = [
      registry.onCreate((b) => this.#attach(b)),
      registry.onRemove((b) => this.#detach(b.name)),
    ];
    for (const breaker of registry.list()) this.#attach(breaker);
  }

  timeline(name: string): Timeline | undefined {
    return this.#tracked.get(name)?.timeline;
  }

  get size(): number {
    return this.#tracked.size;
  }

  /** Calls `listener` on every state change of every tracked breaker; returns the unsubscribe function. */
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening to the registry and to every breaker. */
  close(): void {
    for (const off of this.#unsubscribe) off();
    for (const name of [...this.#tracked.keys()]) this.#detach(name);
    this.#listeners.clear();
  }

  #attach(breaker: CircuitBreaker): void {
    if (this.#tracked.has(breaker.name)) return;
    const timeline = new Timeline(this.#seconds, breaker.state);
    const now = () => this.#clock.now();
    const offs = [
      breaker.on('success', () => timeline.record('success', now())),
      breaker.on('failure', () => timeline.record('failure', now())),
      breaker.on('rejected', () => timeline.record('rejected', now())),
      breaker.on('stateChange', (from, to) => {
        const at = now();
        timeline.transition(to, at);
        const change: StateChange = { breaker: breaker.name, from, to, at };
        for (const listener of [...this.#listeners]) {
          try {
            listener(change);
          } catch {
            // A broken listener must not stop the others (or the breaker: it swallows too, but say why here).
          }
        }
      }),
    ];
    this.#tracked.set(breaker.name, {
      timeline,
      detach: () => {
        for (const off of offs) off();
      },
    });
  }

  #detach(name: string): void {
    const tracked = this.#tracked.get(name);
    if (tracked === undefined) return;
    tracked.detach();
    this.#tracked.delete(name);
  }
}
