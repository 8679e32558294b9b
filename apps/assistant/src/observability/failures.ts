// The last failure of every breaker, kept in two forms: the classification reason (public: health, the
// unauthenticated dashboard stream) and the scrubbed message (admin-only: the dashboard's admin API).
import type { BreakerRegistry, CircuitBreaker } from 'tripswitch';
import { classifyError } from 'tripswitch/http';
import { sliceCodePoints, toWellFormed } from '../domain/text.js';
import type { Scrubber } from './scrub.js';

export interface LastFailure {
  /** `tripswitch/http` reason: `timeout`, `server_error`, `rate_limited`, `connection_refused`, … */
  kind: string;
  /** Error class name. */
  type: string;
  /** Message with configured secrets and credential-shaped text replaced; at most 500 code points, well-formed. */
  message: string;
}

const MAX_MESSAGE = 500;

/** Follows every breaker of a registry (present and future) and remembers its last failure. */
export class FailureTracker {
  readonly #last = new Map<string, LastFailure>();
  readonly #scrubber: Scrubber;
  readonly #offs: Array<() => void> = [];

  constructor(registry: BreakerRegistry, scrubber: Scrubber) {
    this.#scrubber = scrubber;
    this.#offs.push(registry.onCreate((b) => this.#attach(b)));
    for (const b of registry.list()) this.#attach(b);
  }

  /**
   * The last failure of `name`, or null when the breaker has none on record (`lastFailureAt` null, e.g.
   * after a reset). `recorded` says whether the breaker itself still has one: a failure recorded by
   * another instance (shared state) has kind `unknown` here.
   */
  get(name: string, recorded: boolean): LastFailure | null {
    if (!recorded) return null;
    return this.#last.get(name) ?? { kind: 'unknown', type: 'Error', message: '' };
  }

  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }

  #attach(breaker: CircuitBreaker): void {
    this.#offs.push(
      breaker.on('failure', (err: unknown) => {
        const type = err instanceof Error ? err.name : typeof err;
        const raw = err instanceof Error ? err.message : String(err);
        this.#last.set(breaker.name, {
          kind: classifyError(err).reason,
          type,
          message: toWellFormed(sliceCodePoints(this.#scrubber.scrub(raw), MAX_MESSAGE)),
        });
      }),
    );
  }
}
