import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeClient, createCommandClient, isDown } from '../redis/connection.js';
import type { CachedAnswer, SharedAnswerCache } from './answer-cache.js';

export interface RedisAnswerCacheOptions {
  /** Your ioredis connection (kept open by `close()`); give it a `commandTimeout`. */
  client?: Redis;
  /** Or a URL for a fail-fast connection the cache creates and closes. */
  url?: string;
  /** Key prefix. Default 'assistant'. Keys look like `assistant:answers:{<user>}:<sha256 of the query>`. */
  prefix?: string;
  /** ms a GET or SET may take (only for the connection created from `url`). Default 500, range [1, 60000]. */
  commandTimeoutMs?: number;
  /** Called for every failed command (the caller only ever sees a miss). */
  onError?: (err: unknown) => void;
}

export interface RedisAnswerCacheStats {
  hits: number;
  misses: number;
  writes: number;
  /** Commands that failed or timed out (reported to the caller as a miss or swallowed). */
  errors: number;
}

/**
 * The L2 answer cache shared by every instance behind one Redis: the "last good answer" survives an
 * instance restart and serves instances that never asked the model. Keys are per user (users never see
 * each other's answers), values are JSON with a TTL, and a Redis failure is a miss, never an error.
 */
export class RedisAnswerCache implements SharedAnswerCache {
  readonly #client: Redis;
  readonly #owns: boolean;
  readonly #prefix: string;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #stats: RedisAnswerCacheStats = { hits: 0, misses: 0, writes: 0, errors: 0 };
  #closed = false;

  constructor(options: RedisAnswerCacheOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('RedisAnswerCache options must be an object');
    }
    const { client, url } = options;
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError('RedisAnswerCache options: pass exactly one of client or url');
    }
    const prefix = options.prefix ?? 'assistant';
    if (typeof prefix !== 'string' || prefix.length === 0 || /[{}\s]/.test(prefix)) {
      throw new TypeError(
        `RedisAnswerCache option prefix must be a non-empty string without braces or spaces, got "${String(prefix)}"`,
      );
    }
    const timeout = options.commandTimeoutMs ?? 500;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 60_000) {
      throw new RangeError(
        `RedisAnswerCache option commandTimeoutMs must be an integer in [1, 60000], got ${String(timeout)}`,
      );
    }
    this.#prefix = prefix;
    this.#onError = options.onError;
    this.#owns = client === undefined;
    this.#client =
      client ??
      createCommandClient(url as string, {
        name: 'assistant-answer-cache',
        commandTimeoutMs: timeout,
        // Connection errors show up as failed commands (counted there); nothing to do per reconnect.
        onError: () => {},
      });
  }

  /** The Redis key of one user's answer to one normalised query. */
  key(userId: string, normalizedQuery: string): string {
    const digest = createHash('sha256').update(normalizedQuery).digest('base64url');
    // The user id is encoded, so no id can reach into another user's namespace (and its braces, the
    // cluster hash tag, are escaped).
    return `${this.#prefix}:answers:{${encodeURIComponent(userId)}}:${digest}`;
  }

  async get(userId: string, normalizedQuery: string): Promise<CachedAnswer | null> {
    if (this.#closed) return null;
    let raw: string | null;
    try {
      this.#checkUp();
      raw = await this.#client.get(this.key(userId, normalizedQuery));
    } catch (err) {
      this.#failed(err);
      return null;
    }
    const value = raw === null ? null : parseAnswer(raw);
    if (value === null) this.#stats.misses++;
    else this.#stats.hits++;
    return value;
  }

  async set(userId: string, normalizedQuery: string, value: CachedAnswer, ttlMs: number): Promise<void> {
    if (this.#closed || !(ttlMs >= 1)) return;
    try {
      this.#checkUp();
      await this.#client.set(
        this.key(userId, normalizedQuery),
        JSON.stringify(value),
        'PX',
        Math.ceil(Math.min(ttlMs, 2 ** 31)),
      );
      this.#stats.writes++;
    } catch (err) {
      this.#failed(err);
    }
  }

  stats(): RedisAnswerCacheStats {
    return { ...this.#stats };
  }

  /** Closes the connection the cache created (a client passed in stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owns) await closeClient(this.#client);
  }

  /** A lost connection fails at once: a degraded request must not wait out a command timeout. */
  #checkUp(): void {
    if (isDown(this.#client)) throw new Error(`Redis connection is ${this.#client.status}`);
  }

  #failed(err: unknown): void {
    this.#stats.errors++;
    try {
      this.#onError?.(err);
    } catch {
      // a reporting hook must not turn a miss into an error
    }
  }
}

/** A stored value, or null when it is not a well-formed answer (written by another version, say). */
function parseAnswer(raw: string): CachedAnswer | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (
    typeof v.answer !== 'string' ||
    !Array.isArray(v.sources) ||
    typeof v.model !== 'string' ||
    typeof v.createdAt !== 'number'
  ) {
    return null;
  }
  return { answer: v.answer, sources: v.sources, model: v.model, createdAt: v.createdAt };
}
