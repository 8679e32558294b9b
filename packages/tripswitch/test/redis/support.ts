import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import type { SharedSnapshot, StoreBreakerConfig, StoreSink, StoreStatus } from 'tripswitch';
import { RedisStore, type RedisStoreOptions } from 'tripswitch/redis';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

/** A private redis-server for one describe block, a raw client to inspect keys, and stores closed at the end. */
export interface RedisFixture {
  readonly server: RedisServer;
  readonly raw: Redis;
  /** Every store made so far (closed by the fixture). */
  readonly stores: readonly RedisStore[];
  store(options?: Partial<RedisStoreOptions>): RedisStore;
}

/** Call inside `describe`: registers the before/after hooks that start and stop everything. */
export function useRedis(prefix: string, defaults: Partial<RedisStoreOptions> = {}): RedisFixture {
  let server: RedisServer | undefined;
  let raw: Redis | undefined;
  const stores: RedisStore[] = [];
  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    raw?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return server!;
    },
    get raw() {
      return raw!;
    },
    stores,
    store(options = {}) {
      const s = new RedisStore({
        url: server!.url,
        prefix,
        logger: false,
        refreshInterval: 60_000,
        commandTimeout: 3_000, // a loaded test machine is not an outage
        ...defaults,
        ...options,
      });
      stores.push(s);
      return s;
    },
  };
}

/** A breaker stand-in for store-level tests: records what the store tells it. */
export interface RecordingSink extends StoreSink {
  readonly adopted: SharedSnapshot[];
  readonly statuses: StoreStatus[];
  last(): SharedSnapshot | undefined;
}

export function recordingSink(name: string): RecordingSink {
  const adopted: SharedSnapshot[] = [];
  const statuses: StoreStatus[] = [];
  return {
    name,
    adopted,
    statuses,
    adopt: (snapshot) => adopted.push(snapshot),
    storeStatus: (status) => statuses.push(status),
    last: () => adopted[adopted.length - 1],
  };
}

export function breakerConfig(overrides: Partial<StoreBreakerConfig> = {}): StoreBreakerConfig {
  return {
    failMax: 3,
    failWindow: undefined,
    halfOpenTimeout: 5_000,
    nextOpenDuration: () => 1_000,
    now: () => Date.now(),
    ...overrides,
  };
}

/** Poll until `check` is true; fails the test with `what` after `timeoutMs` (generous: shared machine). */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
/** A breaker name no other test uses (tests share one Redis). */
export function uniqueName(label: string): string {
  return `${label}-${process.pid}-${++counter}`;
}

/** The Redis key RedisStore uses for one of a breaker's records (`{prefix}:b:<name>:<suffix>`). */
export function keyOf(prefix: string, name: string, suffix: string): string {
  return `{${prefix}}:b:${name}:${suffix}`;
}
