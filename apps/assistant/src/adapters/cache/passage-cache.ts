import { LRUCache } from 'lru-cache';
import type { Passage } from '../llm/types.js';

export interface PassageCacheOptions {
  /** Searches remembered across all users; the least recently used go first. Default 2,000. */
  maxEntries?: number;
  /** Bound on the characters held (questions plus passage texts and titles). Default 4,000,000. */
  maxChars?: number;
}

export const PASSAGE_CACHE_DEFAULTS = Object.freeze({ maxEntries: 2_000, maxChars: 4_000_000 });

interface Entry {
  readonly documentsVersion: string;
  readonly passages: readonly Passage[];
}

/** The entry's size in UTF-16 units (what the strings occupy): a memory bound, not a text length. */
function chars(key: string, entry: Entry): number {
  let n = key.length + entry.documentsVersion.length;
  for (const p of entry.passages) n += p.text.length + p.title.length + p.documentId.length;
  return Math.max(1, n);
}

/**
 * Recent searches of each user's documents: during an outage users retry the same question, and every
 * retry that reaches the excerpts rung would otherwise search again. An entry belongs to the user and
 * the exact question, and holds the documents version it was searched under: once the user's documents
 * change, the version differs and the entry never answers again (it ages out of the LRU). Bounded by
 * entries and by characters, so long questions cannot make it large.
 */
export class PassageCache {
  readonly #lru: LRUCache<string, Entry>;

  constructor(options: PassageCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? PASSAGE_CACHE_DEFAULTS.maxEntries;
    const maxChars = options.maxChars ?? PASSAGE_CACHE_DEFAULTS.maxChars;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
    }
    if (!Number.isInteger(maxChars) || maxChars < 1) {
      throw new RangeError(`maxChars must be an integer >= 1, got ${maxChars}`);
    }
    this.#lru = new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxChars,
      sizeCalculation: (e, k) => chars(k, e),
    });
  }

  /** The passages found for this user's exact `query` under `documentsVersion`, or undefined. */
  get(userId: string, documentsVersion: string, query: string): readonly Passage[] | undefined {
    const key = `${userId}\u0000${query}`;
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.documentsVersion !== documentsVersion) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry.passages;
  }

  set(userId: string, documentsVersion: string, query: string, passages: readonly Passage[]): void {
    const frozen = Object.freeze(passages.map((p) => Object.freeze({ ...p })));
    this.#lru.set(`${userId}\u0000${query}`, { documentsVersion, passages: frozen });
  }

  get size(): number {
    return this.#lru.size;
  }
}

type Search = (userId: string, query: string, limit: number) => Promise<Passage[]>;

/**
 * `search` (the user's top `limit` passages for `query`) answering a repeated question from `cache` while
 * the user's documents stay what they were: `documentsVersion` is read first, so a search that ran while
 * a document was being added is filed under the version before it and never answers again. Errors of
 * either (database away) reach the caller and nothing is cached.
 */
export function cachedSearch(
  search: Search,
  documentsVersion: (userId: string) => Promise<string>,
  cache: PassageCache,
): Search {
  return async (userId, query, limit) => {
    const version = await documentsVersion(userId);
    const question = `${limit}\u0000${query}`;
    const hit = cache.get(userId, version, question);
    if (hit !== undefined) return [...hit];
    const found = await search(userId, query, limit);
    cache.set(userId, version, question, found);
    return found;
  };
}
