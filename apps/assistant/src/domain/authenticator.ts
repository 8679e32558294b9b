// Bearer-token authentication over a UserStore, with the service's one memory of recent answers (whatever
// the store: SQLite or PostgreSQL). Every request authenticates, so a networked database would otherwise see
// a lookup per request, and an answer the database gave a moment ago lets users with cached answers keep
// getting them while the database is away (DESIGN 3.2: the ladder answers from cache).
import { LRUCache } from 'lru-cache';
import { type AuthUser, hashToken, isPlausibleToken, type TokenEntry } from './auth.js';
import type { UserStore } from './storage.js';

/** Defaults of `AuthenticatorOptions` (ms and entry counts). */
export const AUTH_CACHE_DEFAULTS = Object.freeze({
  freshMs: 30_000,
  staleMs: 3_600_000,
  maxEntries: 10_000,
  negativeMs: 5_000,
  maxNegativeEntries: 1_000,
});

export interface AuthenticatorOptions {
  /**
   * A valid token's user is reused without asking the store for this long (ms). Default 30 000. This is the
   * bound on how long a token revoked by another instance (or directly in the database) keeps working here.
   */
  freshMs?: number;
  /** While the store fails, a valid token seen within this long (ms) still counts. Default 1 h. */
  staleMs?: number;
  /** Valid tokens remembered at most (least recently used go first). Default 10 000. */
  maxEntries?: number;
  /**
   * An unknown token's "no" is reused for this long (ms). Default 5 000: a client retrying a wrong token
   * does not reach the store each time, and a token another instance just added works here within this.
   */
  negativeMs?: number;
  /**
   * Unknown tokens remembered at most, in their own LRU: guessing 10 000 tokens costs at most this many
   * entries and never evicts a valid user's. Default 1 000.
   */
  maxNegativeEntries?: number;
  now?: () => number;
}

interface Remembered {
  user: AuthUser;
  at: number;
}

/** Entries held now: valid tokens and unknown ones. */
export interface AuthCacheSize {
  valid: number;
  invalid: number;
}

function positiveInt(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Answers "whose token is this?". Answers are remembered by the token's SHA-256 (never the token itself):
 * a valid token's user for `freshMs` (and up to `staleMs` while the store fails), an unknown token's "no"
 * for `negativeMs`, each in its own bounded LRU. The store compares hashes in constant time; the memory is
 * looked up by the hash of what was presented, so its timing reveals nothing an attacker can steer towards
 * a valid token.
 *
 * Changes to users go through `ensureUsers`, which forgets everything at once on this instance (and
 * ignores answers to lookups that were in flight while it ran). Another instance sharing the database
 * sees a revoked token stop working within `freshMs`, and a new token start working within `negativeMs`.
 */
export class Authenticator {
  readonly #users: UserStore;
  readonly #fresh: number;
  readonly #stale: number;
  readonly #negative: number;
  readonly #now: () => number;
  readonly #known: LRUCache<string, Remembered>;
  readonly #unknown: LRUCache<string, number>;
  /** Bumped whenever users change here: a lookup that started before must not be remembered. */
  #generation = 0;

  constructor(users: UserStore, options: AuthenticatorOptions = {}) {
    const o = { ...AUTH_CACHE_DEFAULTS, ...options };
    this.#users = users;
    this.#fresh = positiveInt(o.freshMs, 'freshMs', 0);
    this.#stale = Math.max(positiveInt(o.staleMs, 'staleMs', 0), this.#fresh);
    this.#negative = positiveInt(o.negativeMs, 'negativeMs', 0);
    this.#now = options.now ?? Date.now;
    this.#known = new LRUCache({ max: positiveInt(o.maxEntries, 'maxEntries', 1) });
    this.#unknown = new LRUCache({ max: positiveInt(o.maxNegativeEntries, 'maxNegativeEntries', 1) });
  }

  /**
   * The token's user, or null for an invalid token. Throws the store's error (StorageUnavailableError)
   * only when the store fails and this token was not seen valid within `staleMs`.
   */
  async authenticate(token: unknown): Promise<AuthUser | null> {
    if (!isPlausibleToken(token)) return null;
    const key = hashToken(token);
    const now = this.#now();
    const known = this.#known.get(key);
    if (known && now - known.at < this.#fresh) return known.user;
    const refusedAt = this.#unknown.get(key);
    if (refusedAt !== undefined && now - refusedAt < this.#negative) return null;
    const generation = this.#generation;
    let user: AuthUser | null;
    try {
      user = await this.#users.authenticate(token);
    } catch (err) {
      if (known && now - known.at < this.#stale) return known.user;
      throw err;
    }
    if (generation !== this.#generation) return user; // users changed meanwhile: answer, do not remember
    if (user) {
      const frozen = Object.freeze({ id: user.id, name: user.name });
      this.#unknown.delete(key);
      this.#known.set(key, { user: frozen, at: now });
      return frozen;
    }
    this.#known.delete(key);
    this.#unknown.set(key, now);
    return null;
  }

  /**
   * Applies the token list to the store (`UserStore.ensureUsers`: tokens set, users not listed revoked),
   * then forgets every remembered answer: a revoked token fails and a new one works on the next request.
   */
  async ensureUsers(entries: readonly TokenEntry[]): Promise<AuthUser[]> {
    try {
      return await this.#users.ensureUsers(entries);
    } finally {
      this.invalidate();
    }
  }

  /** Forgets every remembered answer (after users or tokens changed by other means on this instance). */
  invalidate(): void {
    this.#generation++;
    this.#known.clear();
    this.#unknown.clear();
  }

  /** Entries held now (bounded by `maxEntries` and `maxNegativeEntries`). */
  get size(): AuthCacheSize {
    return { valid: this.#known.size, invalid: this.#unknown.size };
  }
}
