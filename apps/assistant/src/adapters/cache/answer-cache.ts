import { LRUCache } from 'lru-cache';

/** What the cache keeps of an answer: enough to serve it again with its sources. */
export interface CachedAnswer {
  answer: string;
  sources: unknown[];
  model: string;
  /** ms timestamp when the answer was produced by the model. */
  createdAt: number;
}

/** A second cache level shared by instances (Redis). Errors must not reach the caller: return null. */
export interface SharedAnswerCache {
  get(userId: string, key: string): Promise<CachedAnswer | null>;
  set(userId: string, key: string, value: CachedAnswer, ttlMs: number): Promise<void>;
  close?(): Promise<void>;
}

export interface AnswerCacheOptions {
  /** An entry younger than this answers without calling the model. */
  freshTtlMs: number;
  /** An entry younger than this is still a fallback when the model is down (the "last good answer"). */
  staleTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

export type CacheLookup = { entry: CachedAnswer; fresh: boolean } | null;

/**
 * L1 answer cache: one LRU for all users, keyed by user and normalised query (so users never see each
 * other's answers), holding entries for the stale TTL and telling fresh from stale by age.
 */
export class AnswerCache {
  readonly #lru: LRUCache<string, CachedAnswer>;
  readonly #fresh: number;
  readonly #now: () => number;

  constructor(options: AnswerCacheOptions) {
    this.#fresh = options.freshTtlMs;
    this.#now = options.now ?? Date.now;
    this.#lru = new LRUCache<string, CachedAnswer>({
      max: options.maxEntries,
      ttl: Math.max(options.staleTtlMs, options.freshTtlMs, 1),
      ttlAutopurge: false,
    });
  }

  static key(userId: string, normalizedQuery: string): string {
    return `${userId}\u0000${normalizedQuery}`;
  }

  get(userId: string, normalizedQuery: string): CacheLookup {
    const entry = this.#lru.get(AnswerCache.key(userId, normalizedQuery));
    if (entry === undefined) return null;
    return { entry, fresh: this.#now() - entry.createdAt < this.#fresh };
  }

  set(userId: string, normalizedQuery: string, value: CachedAnswer): void {
    this.#lru.set(AnswerCache.key(userId, normalizedQuery), value);
  }

  get size(): number {
    return this.#lru.size;
  }
}
