import { after, before } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import type { SharedSnapshot, StoreBreakerConfig, StoreSink, StoreStatus } from 'tripswitch';
import { RedisStore, type RedisStoreOptions } from 'tripswitch/redis';
import {
  clusterClient,
  clusterTarget,
  connectTarget,
  type RedisClusterServer,
  startRedisCluster,
} from '../helpers/redis-cluster.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

export type Topology = 'single' | 'cluster';
/** Every Redis suite runs on both: a single redis-server and a three-master Redis Cluster. */
export const TOPOLOGIES: readonly Topology[] = ['single', 'cluster'];

/** A private Redis (single or Cluster) for one describe block, a raw client to inspect keys, and stores. */
export interface RedisFixture {
  readonly topology: Topology;
  readonly server: RedisServer;
  readonly raw: Redis | Cluster;
  /** How a child process connects: a URL, or `cluster:host:port,…` (see connectTarget). */
  readonly target: string;
  /** Every store made so far (closed by the fixture). */
  readonly stores: readonly RedisStore[];
  store(options?: Partial<RedisStoreOptions>): RedisStore;
  /** Where a store connects: `{ url }` on a single server, `{ client }` (a new Cluster) on a cluster. */
  connection(): Partial<RedisStoreOptions>;
}

/** Start a server of the given topology. */
export async function startTopology(topology: Topology): Promise<RedisServer | RedisClusterServer> {
  return topology === 'cluster' ? startRedisCluster() : startRedisServer();
}

/** Call inside `describe`: registers the before/after hooks that start and stop everything. */
export function useRedis(
  prefix: string,
  defaults: Partial<RedisStoreOptions> = {},
  topology: Topology = 'single',
): RedisFixture {
  let server: RedisServer | RedisClusterServer | undefined;
  let raw: Redis | Cluster | undefined;
  const stores: RedisStore[] = [];
  const clients: Cluster[] = [];
  before(async () => {
    server = await startTopology(topology);
    raw = topology === 'cluster' ? connectTarget(target()) : new Redis(server.url);
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const c of clients) c.disconnect();
    raw?.disconnect();
    await server?.stop();
  });
  const target = () =>
    topology === 'cluster' ? clusterTarget((server as RedisClusterServer).nodes) : server!.url;
  const connection = (): Partial<RedisStoreOptions> => {
    if (topology === 'single') return { url: server!.url };
    const client = clusterClient((server as RedisClusterServer).nodes);
    clients.push(client);
    return { client };
  };
  return {
    topology,
    get server() {
      return server!;
    },
    get raw() {
      return raw!;
    },
    get target() {
      return target();
    },
    stores,
    connection,
    store(options = {}) {
      const s = new RedisStore({
        ...connection(),
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

/** SCAN for `pattern` on every master (a Cluster spreads keys over nodes; a single server is one node). */
export async function scanAll(raw: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = raw instanceof Cluster ? raw.nodes('master') : [raw];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
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
