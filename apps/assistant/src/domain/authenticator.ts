// Bearer-token authentication over a UserStore, with a small memory of recent answers: every request
// authenticates (the rate limiter and the route both ask), so a networked database would otherwise see
// two lookups per request, and an answer the database gave a moment ago lets users with cached answers
// keep getting them while the database is away (DESIGN 3.2: the ladder answers from cache).
import { LRUCache } from 'lru-cache';
import { type AuthUser, hashToken, isPlausibleToken } from './auth.js';
import type { UserStore } from './storage.js';

export interface AuthenticatorOptions {
  /** A remembered answer is used without asking the store for this long (ms). Default 30 000. */
  freshMs?: number;
  /** While the store fails, a remembered answer still counts for this long (ms). Default 1 h. */
  staleMs?: number;
  /** Tokens remembered at most (least recently used go first). Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

interface Remembered {
  user: AuthUser;
  at: number;
}

/**
 * Answers "whose token is this?". Only valid tokens are remembered (keyed by their SHA-256, never the
 * token itself), so made-up tokens always reach the store and cannot evict much: the route's per-address
 * limit on failed attempts bounds them. A token revoked on another instance stops working here within
 * `freshMs`.
 */
export class Authenticator {
  readonly #users: UserStore;
  readonly #fresh: number;
  readonly #stale: number;
  readonly #now: () => number;
  readonly #known: LRUCache<string, Remembered>;

  constructor(users: UserStore, options: AuthenticatorOptions = {}) {
    this.#users = users;
    this.#fresh = options.freshMs ?? 30_000;
    this.#stale = Math.max(options.staleMs ?? 3_600_000, this.#fresh);
    this.#now = options.now ?? Date.now;
    this.#known = new LRUCache({ max: options.maxEntries ?? 10_000 });
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
    let user: AuthUser | null;
    try {
      user = await this.#users.authenticate(token);
    } catch (err) {
      if (known && now - known.at < this.#stale) return known.user;
      throw err;
    }
    if (user) this.#known.set(key, { user, at: now });
    else this.#known.delete(key);
    return user;
  }
}
