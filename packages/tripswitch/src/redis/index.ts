/**
 * `tripswitch/redis`: breaker state shared across service instances through Redis (`ioredis` peer).
 * @module tripswitch/redis
 */
export { StoreUnavailableError } from './errors.js';
export type { RedisStoreLogger, RedisStoreOptions } from './options.js';
export { RedisStore, type RedisStoreStats, type RedisStoreStatusListener } from './store.js';
