// The answer-cache ports of the degradation ladder: L1 (this process) and the shared L2 (Redis). The
// domain owns them; adapters/cache implements them.

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

export type CacheLookup = { entry: CachedAnswer; fresh: boolean } | null;

/** L1: the last good answers of this process, telling fresh from stale by age. */
export interface AnswerCache {
  get(userId: string, key: string): CacheLookup;
  set(userId: string, key: string, value: CachedAnswer): void;
}
