import { CircuitBreaker, type CircuitBreakerStats } from './core/breaker.js';
import type { CircuitBreakerOptions } from './core/options.js';
import { notify } from './core/user-code.js';
import { checkFunction, checkNumber } from './policies/internal.js';

/** Why a breaker left the registry. */
export type RemovalReason = 'deleted' | 'evicted';

export interface BreakerRegistryOptions {
  /** Options every new breaker starts from; `get`/`keyed` overrides are applied on top. */
  readonly defaults?: Partial<CircuitBreakerOptions>;
  /** Most keyed breakers kept (LRU beyond that). Default 1000. Breakers made by `get` are not counted. */
  readonly maxKeyed?: number;
  /** Called with every breaker the registry creates (e.g. to attach a metrics listener). */
  readonly onCreate?: (breaker: CircuitBreaker) => void;
  /** Called when a breaker leaves the registry (e.g. to drop its metric series). */
  readonly onRemove?: (breaker: CircuitBreaker, reason: RemovalReason) => void;
}

/** One row of `snapshots()`. */
export type BreakerSnapshot = CircuitBreakerStats & { readonly name: string };

/** Keyed breakers in these states are protecting callers right now and are never evicted. */
const PINNED_STATES: ReadonlySet<string> = new Set(['open', 'half-open', 'isolated']);

/**
 * Named circuit breakers, created on first use with shared defaults.
 *
 * - `get(name)`: the fixed set of upstreams an application knows in advance; never evicted.
 * - `keyed(prefix, key)`: one breaker per model, endpoint or tenant (name `prefix:key`). The number of keyed
 *   breakers is bounded by `maxKeyed`: the least recently used is evicted, except that a breaker that is
 *   open, half-open or isolated is never evicted (forgetting it would let traffic through to a failing
 *   upstream). If every keyed breaker is in such a state the registry grows past the bound; the excess is
 *   evicted by later insertions once those breakers have closed.
 *
 * Overrides only apply when the breaker is created; a later call with other overrides returns the
 * existing breaker unchanged. The breaker's `name` is always the registry name.
 */
export class BreakerRegistry {
  readonly maxKeyed: number;
  readonly #defaults: Partial<CircuitBreakerOptions>;
  readonly #named = new Map<string, CircuitBreaker>();
  /** Keyed breakers in LRU order: the first entry is the least recently used. */
  readonly #keyed = new Map<string, CircuitBreaker>();
  readonly #onCreate: ((breaker: CircuitBreaker) => void)[] = [];
  readonly #onRemove: ((breaker: CircuitBreaker, reason: RemovalReason) => void)[] = [];

  constructor(options: BreakerRegistryOptions = {}) {
    this.#defaults = { ...options.defaults };
    this.maxKeyed = checkNumber('registry maxKeyed', options.maxKeyed ?? 1000, 1, 2 ** 31, true);
    if (options.onCreate !== undefined) this.onCreate(options.onCreate);
    if (options.onRemove !== undefined) this.onRemove(options.onRemove);
  }

  /** The breaker called `name`, created from the defaults plus `overrides` if it does not exist yet. */
  get(name: string, overrides?: Partial<CircuitBreakerOptions>): CircuitBreaker {
    checkName('name', name);
    const existing = this.#named.get(name) ?? this.#touch(name);
    if (existing !== undefined) return existing;
    const breaker = this.#create(name, overrides);
    this.#named.set(name, breaker);
    return breaker;
  }

  /** The breaker for `key` under `prefix` (named `prefix:key`), bounded by `maxKeyed` with LRU eviction. */
  keyed(prefix: string, key: string, overrides?: Partial<CircuitBreakerOptions>): CircuitBreaker {
    checkName('prefix', prefix);
    if (typeof key !== 'string') throw new TypeError(`registry key must be a string, got ${typeof key}`);
    const name = `${prefix}:${key}`;
    const existing = this.#named.get(name) ?? this.#touch(name);
    if (existing !== undefined) return existing;
    const breaker = this.#create(name, overrides);
    this.#keyed.set(name, breaker);
    if (this.#keyed.size > this.maxKeyed) this.#evict();
    return breaker;
  }

  has(name: string): boolean {
    return this.#named.has(name) || this.#keyed.has(name);
  }

  /** Removes a breaker (named or keyed); true if there was one. The breaker itself keeps working. */
  delete(name: string): boolean {
    const breaker = this.#named.get(name) ?? this.#keyed.get(name);
    if (breaker === undefined) return false;
    this.#named.delete(name);
    this.#keyed.delete(name);
    this.#removed(breaker, 'deleted');
    return true;
  }

  /** Number of breakers held, named and keyed. */
  get size(): number {
    return this.#named.size + this.#keyed.size;
  }

  /** Number of keyed breakers held (the part bounded by `maxKeyed`). */
  get keyedSize(): number {
    return this.#keyed.size;
  }

  /** Every breaker held: named ones first, then keyed ones from least to most recently used. */
  list(): CircuitBreaker[] {
    return [...this.#named.values(), ...this.#keyed.values()];
  }

  /** `stats()` of every breaker, each with its name (for health endpoints and dashboards). */
  snapshots(): BreakerSnapshot[] {
    return this.list().map((breaker) => ({ ...breaker.stats(), name: breaker.name }));
  }

  /** Calls `listener` with every breaker created from now on; returns a function that unsubscribes. */
  onCreate(listener: (breaker: CircuitBreaker) => void): () => void {
    return subscribe(this.#onCreate, listener, 'registry onCreate');
  }

  /** Calls `listener` when a breaker is deleted or evicted; returns a function that unsubscribes. */
  onRemove(listener: (breaker: CircuitBreaker, reason: RemovalReason) => void): () => void {
    return subscribe(this.#onRemove, listener, 'registry onRemove');
  }

  /** The keyed breaker called `name`, marked most recently used. */
  #touch(name: string): CircuitBreaker | undefined {
    const breaker = this.#keyed.get(name);
    if (breaker !== undefined) {
      this.#keyed.delete(name);
      this.#keyed.set(name, breaker);
    }
    return breaker;
  }

  #create(name: string, overrides: Partial<CircuitBreakerOptions> | undefined): CircuitBreaker {
    const breaker = new CircuitBreaker({ ...this.#defaults, ...overrides, name });
    // A hook's exception or rejected promise must not stop the breaker from being served.
    for (const listener of this.#onCreate.slice()) notify(listener, breaker);
    return breaker;
  }

  /**
   * Drops least recently used keyed breakers that are not protecting anyone until the bound holds. Pinned
   * ones met on the way move to the most-recent end, so each is looked at once per pass.
   */
  #evict(): void {
    // The newest entry (the one just created) is never the victim: only the others are candidates.
    let candidates = this.#keyed.size - 1;
    for (const [name, breaker] of this.#keyed) {
      if (this.#keyed.size <= this.maxKeyed || candidates-- <= 0) return;
      this.#keyed.delete(name);
      if (PINNED_STATES.has(breaker.state)) this.#keyed.set(name, breaker);
      else {
        this.#removed(breaker, 'evicted');
        breaker.dispose(); // releases its store subscription (RedisStore) and handlers
      }
    }
  }

  #removed(breaker: CircuitBreaker, reason: RemovalReason): void {
    // Same rule as onCreate: observers never break the registry.
    for (const listener of this.#onRemove.slice()) notify(listener, breaker, reason);
  }
}

function checkName(what: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`registry ${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

function subscribe<L>(list: L[], listener: L, what: string): () => void {
  checkFunction(what, listener);
  list.push(listener);
  return () => {
    const at = list.indexOf(listener);
    if (at !== -1) list.splice(at, 1);
  };
}
