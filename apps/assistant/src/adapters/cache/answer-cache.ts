import { LRUCache } from 'lru-cache';
import type { AnswerCache, CachedAnswer, CacheLookup } from '../../domain/cache.js';

export type { CachedAnswer, CacheLookup, SharedAnswerCache } from '../../domain/cache.js';

export interface AnswerCacheOptions {
  /** An entry younger than this answers without calling the model. */
  freshTtlMs: number;
  /** An entry younger than this is still a fallback when the model is down (the "last good answer"). */
  staleTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

/**
 * L1 answer cache: one LRU for all users, keyed by user and normalised query (so users never see each
 * other's answers), holding entries for the stale TTL and telling fresh from stale by age.
 */
export class LruAnswerCache implements AnswerCache {
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
    const entry = this.#lru.get(LruAnswerCache.key(userId, normalizedQuery));
    if (entry === undefined) return null;
    return { entry, fresh: this.#now() - entry.createdAt < this.#fresh };
  }

  set(userId: string, normalizedQuery: string, value: CachedAnswer): void {
    this.#lru.set(LruAnswerCache.key(userId, normalizedQuery), value);
  }

  get size(): number {
    return this.#lru.size;
  }
}
