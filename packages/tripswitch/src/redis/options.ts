import type { Cluster, Redis, RedisOptions } from 'ioredis';

/** Where RedisStore writes its log lines (a pino or console-like logger fits). */
export interface RedisStoreLogger {
  warn(message: string): void;
  info(message: string): void;
}

export interface RedisStoreOptions {
  /**
   * Your ioredis connection, a `Redis` or a `Cluster`: used for our commands; a `duplicate()` of it carries
   * pub/sub (for a Cluster, with ioredis's sharded subscribers, so the namespace channel is followed to the
   * master that serves its slot).
   */
  client?: Redis | Cluster;
  /** Or a URL (`redis://127.0.0.1:6379/0`) for a connection the store creates and closes. */
  url?: string;
  /** Options for the connection the store creates (merged over the store's fail-fast defaults). */
  redisOptions?: RedisOptions;
  /**
   * The namespace: key and channel prefix, and the Redis Cluster hash tag of all of them (a namespace
   * lives in one slot). Default 'tripswitch'. Keys look like `{tripswitch}:b:<name>:state`.
   */
  prefix?: string;
  /**
   * ms each of our commands may take before Redis counts as unreachable (a reply already received when the
   * deadline fires, e.g. after a stall of this process, still counts as in time). Default 500.
   */
  commandTimeout?: number;
  /**
   * ms between backstop checks of the namespace version (one HMGET per store; the changed breakers are
   * re-read only when it moved). Default 1000.
   */
  refreshInterval?: number;
  /** Distinct instances that must have reported failures before the cluster opens. Default 1. */
  quorum?: number;
  /** ms an unused breaker's keys live in Redis (refreshed while in use). Default 86_400_000 (a day). */
  keyTtl?: number;
  /**
   * ms added to `halfOpenTimeout` for a probe lease, so the breaker's own verdict lands first. A probe
   * stream's chunks extend its lease (at most every `leaseGrace / 2` ms), as they restart its
   * `halfOpenTimeout`. Default 1000.
   */
  leaseGrace?: number;
  /** Log lines for losing and regaining Redis. Default: console. `false` silences them. */
  logger?: RedisStoreLogger | false;
}

export interface ResolvedRedisStoreOptions {
  readonly prefix: string;
  readonly commandTimeout: number;
  readonly refreshInterval: number;
  readonly quorum: number;
  readonly keyTtl: number;
  readonly leaseGrace: number;
  readonly logger: RedisStoreLogger | undefined;
}

const consoleLogger: RedisStoreLogger = {
  warn: (message) => console.warn(message),
  info: (message) => console.info(message),
};

function check(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`RedisStore option ${name} must be a number, got ${String(value)}`);
  }
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `RedisStore option ${name} must be a finite ${integer ? 'integer' : 'number'} >= ${min}, got ${value}`,
    );
  }
  return value;
}

export function resolveRedisStoreOptions(o: RedisStoreOptions): ResolvedRedisStoreOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('RedisStore options must be an object');
  const prefix = o.prefix ?? 'tripswitch';
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new TypeError(
      `RedisStore option prefix must be a non-empty string without braces, got ${String(prefix)}`,
    );
  }
  if (o.url !== undefined && typeof o.url !== 'string') {
    throw new TypeError(`RedisStore option url must be a string, got ${typeof o.url}`);
  }
  if (o.client !== undefined && (o.url !== undefined || o.redisOptions !== undefined)) {
    throw new TypeError('RedisStore options: pass either client, or url/redisOptions, not both');
  }
  const logger = o.logger === undefined ? consoleLogger : o.logger === false ? undefined : o.logger;
  if (logger !== undefined && (typeof logger.warn !== 'function' || typeof logger.info !== 'function')) {
    throw new TypeError('RedisStore option logger must have warn() and info(), or be false');
  }
  return {
    prefix,
    commandTimeout: check('commandTimeout', o.commandTimeout, 500, 1),
    refreshInterval: check('refreshInterval', o.refreshInterval, 1000, 10),
    quorum: check('quorum', o.quorum, 1, 1, true),
    keyTtl: check('keyTtl', o.keyTtl, 86_400_000, 1000, true),
    leaseGrace: check('leaseGrace', o.leaseGrace, 1000, 0),
    logger,
  };
}
