// Redis connections for the service's Redis mode (REDIS_URL). Two kinds, because they must behave
// differently while Redis is away: request-path commands fail fast (a cache miss or an error beats a hung
// request), BullMQ's worker waits and reconnects (its blocking commands need maxRetriesPerRequest: null).
import type { RedisOptions as BullMqRedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { redactUrl } from '../redact-url.js';

/** Throws a TypeError naming REDIS_URL unless `url` is a redis:// or rediss:// URL. Returns it unchanged. */
export function checkRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`REDIS_URL must be a redis:// or rediss:// URL, got "${redactRedisUrl(url)}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`REDIS_URL must be a redis:// or rediss:// URL, got "${redactRedisUrl(url)}"`);
  }
  return url;
}

/** The URL without its password, for log lines and start-up output. */
export const redactRedisUrl = redactUrl;

/** Reconnect quickly at first, then every 2 s at most, forever: Redis coming back must be noticed. */
const reconnect = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export interface CommandClientOptions {
  /** Shown in `CLIENT LIST`. */
  name: string;
  /** ms a command may take before it fails. */
  commandTimeoutMs: number;
  /** Connection errors (ioredis emits them on every failed reconnect); never thrown. */
  onError?: (err: Error) => void;
}

/**
 * A connection for commands on the request path: each command has a timeout and one retry at most.
 * Commands may wait for a connection being made (so the first ones after start-up are not lost), but
 * callers should not send while `isDown(client)`: that fails at once instead of after the timeout.
 */
export function createCommandClient(url: string, options: CommandClientOptions): Redis {
  const client = new Redis(checkRedisUrl(url), {
    connectionName: options.name,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: reconnect,
  });
  client.on('error', (err: Error) => options.onError?.(err));
  return client;
}

/**
 * Connection options for a BullMQ worker (it creates its own connections from them): they wait for Redis
 * and reconnect instead of failing, as BullMQ's blocking commands require (maxRetriesPerRequest: null).
 */
export function bullmqWorkerConnection(url: string): BullMqRedisOptions {
  checkRedisUrl(url);
  return { url, maxRetriesPerRequest: null, connectTimeout: 2000, retryStrategy: reconnect };
}

/** True while the connection is lost and waiting to reconnect (or closed for good). */
export function isDown(client: Redis): boolean {
  return client.status === 'reconnecting' || client.status === 'close' || client.status === 'end';
}

/** QUIT when connected (pending replies arrive first), otherwise drop the socket; never throws. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect();
}
