// Redis mode (REDIS_URL): the pieces that make several service instances one service — shared breaker
// state (tripswitch/redis), the L2 answer cache and the BullMQ job queue — built for `createApp`.
import type { Logger } from 'pino';
import type { StateStore } from 'tripswitch';
import { RedisStore } from 'tripswitch/redis';
import type { QueueFactory } from '../../domain/queue-port.js';
import type { SharedAnswerCache } from '../cache/answer-cache.js';
import { RedisAnswerCache } from '../cache/redis-cache.js';
import { BullMqJobQueue } from '../queue/bullmq-queue.js';
import { checkRedisUrl, redactRedisUrl } from './connection.js';

/** The pieces that make several instances one service; any of them may be brought by the caller. */
export interface RedisPieces {
  sharedCache?: SharedAnswerCache | undefined;
  breakerStore?: StateStore | undefined;
  queueFactory?: QueueFactory | undefined;
}

export interface RedisMode {
  /** The caller's pieces, with every one it did not bring itself built here. */
  pieces: Required<RedisPieces>;
  /** Closes what was built here (the queue closes itself in `stop()`). Idempotent. */
  close(): Promise<void>;
}

/** Builds the Redis pieces `options` lacks; a piece the caller passed is kept as it is. */
export function withRedis(url: string, options: RedisPieces, logger: Logger): RedisMode {
  checkRedisUrl(url);
  const log = logger.child({ redis: redactRedisUrl(url) });
  const closers: Array<() => Promise<void>> = [];

  let sharedCache = options.sharedCache;
  if (sharedCache === undefined) {
    let lastWarn = 0;
    const cache = new RedisAnswerCache({
      url,
      onError: (err) => {
        // A cache outage is routine in degraded mode; one line per 10 s says so without flooding.
        const now = Date.now();
        if (now - lastWarn < 10_000) return;
        lastWarn = now;
        log.warn(
          { err: (err as Error)?.message },
          'L2 answer cache: Redis command failed (served as a miss)',
        );
      },
    });
    sharedCache = cache;
    closers.push(() => cache.close());
  }

  let breakerStore = options.breakerStore;
  if (breakerStore === undefined) {
    const store = new RedisStore({
      url,
      logger: { warn: (message) => log.warn(message), info: (message) => log.info(message) },
    });
    breakerStore = store;
    closers.push(() => store.close());
  }

  const queueFactory =
    options.queueFactory ??
    ((ctx) =>
      new BullMqJobQueue({
        url,
        run: ctx.run,
        breaker: ctx.breaker,
        logger: ctx.logger,
      }));

  let closing: Promise<void> | undefined;
  return {
    pieces: { sharedCache, breakerStore, queueFactory },
    close() {
      closing ??= Promise.allSettled(closers.map((close) => close())).then(() => {});
      return closing;
    },
  };
}
