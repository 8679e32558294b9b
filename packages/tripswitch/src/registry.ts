import { CircuitBreaker, type CircuitBreakerStats } from './core/breaker.js';
import type { CircuitBreakerOptions } from './core/options.js';
import { notify } from './core/user-code.js';
import { checkFunction, checkNumber } from './policies/internal.js';

/** Why a breaker left the registry. */
export type RemovalReason = 'deleted' | 'evicted';

export interface BreakerRegistryOptions {
  /** Options every new breaker starts from; `get`/`keyed` overrides are applied on top. */
  readonly defaults?: Partial<CircuitBreakerOptions>;
  /** Most keyed breakers kept (LRU beyond that; see the class doc for pinned ones). Default 1000, at most 2^31. Breakers made by `get` are not counted. */
  readonly maxKeyed?: number;
  /** Called with every breaker the registry creates (e.g. to attach a metrics listener). */
  readonly onCreate?: (breaker: CircuitBreaker) => void;
  /** Called when a breaker leaves the registry (e.g. to drop its metric series). */
  readonly onRemove?: (breaker: CircuitBreaker, reason: RemovalReason) => void;
}

/** One row of `snapshots()`. */
export type BreakerSnapshot = CircuitBreakerStats & { readonly name: string };

/** Longest `key` accepted by `keyed()` (UTF-16 code units): it becomes a breaker name, a metric label, a Redis key. */
export const MAX_KEY_LENGTH = 1024;

/** Separator between a keyed breaker's prefix and key; reserved, so no `get()` name can contain it. */
const SEP = ':';

/**
 * True while a keyed breaker is protecting callers: OPEN with time left, HALF-OPEN with a probe in flight, or
 * isolated by an operator. Read lazily (`state`/`retryAfter` apply due transitions), so a breaker that tripped
 * long ago and sat idle since — OPEN past its deadline, HALF-OPEN with nobody probing — is evictable.
 */
function isProtecting(breaker: CircuitBreaker): boolean {
  try {
    const state = breaker.state;
    if (state === 'isolated') return true;
    if (state === 'open') return breaker.retryAfter > 0;
    if (state === 'half-open') return (breaker.stats().halfOpen?.inFlight ?? 0) > 0;
    return false;
  } catch {
    return false;
  }
}

/**
 * Named circuit breakers, created on first use with shared defaults.
 *
 * - `get(name)`: the fixed set of upstreams an application knows in advance; never evicted.
 * - `keyed(prefix, key)`: one breaker per model, endpoint or tenant (name `prefix:key`; the prefix may not
 *   contain `:` and a `get()` name may not contain `:`, so no two (prefix, key) pairs and no `get()` name share
 *   a breaker). `key` is at most `MAX_KEY_LENGTH` characters. The number of keyed breakers is bounded by
 *   `maxKeyed`: the least recently used is evicted, except that a breaker protecting callers right now (OPEN
 *   with time left, HALF-OPEN with a probe in flight, isolated) is skipped. A breaker that tripped and then
 *   sat idle (OPEN past its deadline, HALF-OPEN with no probe) is evictable. Pinned breakers may take the
 *   registry past `maxKeyed`, never past `2 × maxKeyed`: beyond that the least recently used goes anyway.
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
    if (existing !== undefined) return existing; // a keyed breaker may be looked up by its full name
    if (name.includes(SEP)) {
      throw new TypeError(
        `registry name must not contain "${SEP}" (reserved for keyed(prefix, key) breakers), got ${JSON.stringify(name)}`,
      );
    }
    return this.#create(name, overrides, this.#named);
  }

  /** The breaker for `key` under `prefix` (named `prefix:key`), bounded by `maxKeyed` with LRU eviction. */
  keyed(prefix: string, key: string, overrides?: Partial<CircuitBreakerOptions>): CircuitBreaker {
    checkName('prefix', prefix);
    if (prefix.includes(SEP)) {
      throw new TypeError(`registry prefix must not contain "${SEP}", got ${JSON.stringify(prefix)}`);
    }
    if (typeof key !== 'string') throw new TypeError(`registry key must be a string, got ${typeof key}`);
    if (key.length > MAX_KEY_LENGTH) {
      throw new RangeError(`registry key must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`);
    }
    const name = `${prefix}${SEP}${key}`;
    const existing = this.#touch(name);
    if (existing !== undefined) return existing;
    return this.#create(name, overrides, this.#keyed);
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

  #create(
    name: string,
    overrides: Partial<CircuitBreakerOptions> | undefined,
    into: Map<string, CircuitBreaker>,
  ): CircuitBreaker {
    const breaker = new CircuitBreaker({ ...this.#defaults, ...overrides, name });
    // Stored before any hook runs: a hook that looks its breaker up (re-entrancy) finds this one.
    into.set(name, breaker);
    if (into === this.#keyed && this.#keyed.size > this.maxKeyed) this.#evict(breaker);
    // A hook's exception or rejected promise must not stop the breaker from being served.
    for (const listener of this.#onCreate.slice()) notify(listener, breaker);
    return breaker;
  }

  /**
   * Drops least recently used keyed breakers that are not protecting anyone until the bound holds; protecting
   * ones met on the way move to the most-recent end, so each is looked at once per pass. Past the hard cap
   * (2 × maxKeyed) the least recently used goes whatever its state. `fresh` (just created) is never the victim.
   */
  #evict(fresh: CircuitBreaker): void {
    let candidates = this.#keyed.size - 1;
    for (const [name, breaker] of this.#keyed) {
      if (this.#keyed.size <= this.maxKeyed || candidates-- <= 0) break;
      this.#keyed.delete(name);
      if (breaker === fresh || isProtecting(breaker)) this.#keyed.set(name, breaker);
      else this.#drop(breaker);
    }
    const cap = this.maxKeyed * 2;
    for (const [name, breaker] of this.#keyed) {
      if (this.#keyed.size <= cap) break;
      if (breaker === fresh) continue;
      this.#keyed.delete(name);
      this.#drop(breaker);
    }
  }

  #drop(breaker: CircuitBreaker): void {
    this.#removed(breaker, 'evicted');
    breaker.dispose(); // releases its store subscription (RedisStore) and handlers
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
