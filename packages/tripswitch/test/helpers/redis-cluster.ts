import { Cluster, Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from './redis-server.js';

/**
 * A private three-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free
 * loopback ports, slots split in three, joined with CLUSTER MEET (no redis-cli needed). `kill()` and
 * `restart()` act on every node: restarted nodes come back empty but keep their cluster config
 * (nodes.conf in their own dir), so the cluster re-forms on the same ports.
 */
export interface RedisClusterServer extends RedisServer {
  readonly nodes: readonly { host: string; port: number }[];
}

const RANGES: readonly [number, number][] = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];

export async function startRedisCluster(): Promise<RedisClusterServer> {
  const servers = await Promise.all(
    RANGES.map(() =>
      startRedisServer([
        '--cluster-enabled',
        'yes',
        '--cluster-node-timeout',
        '2000',
        '--cluster-config-file',
        'nodes.conf',
      ]),
    ),
  );
  const admins = servers.map((s) => new Redis(s.port, '127.0.0.1', { lazyConnect: false }));
  try {
    await Promise.all(admins.map((a, i) => a.call('CLUSTER', 'ADDSLOTSRANGE', RANGES[i]![0], RANGES[i]![1])));
    for (const s of servers.slice(1)) await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', s.port);
    await clusterOk(admins);
  } finally {
    for (const a of admins) a.disconnect();
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    port: servers[0]!.port,
    url: servers[0]!.url,
    get running() {
      return servers.every((s) => s.running);
    },
    async kill() {
      await Promise.all(servers.map((s) => s.kill()));
    },
    async restart() {
      await Promise.all(servers.map((s) => s.restart()));
      const again = servers.map((s) => new Redis(s.port, '127.0.0.1'));
      try {
        await clusterOk(again);
      } finally {
        for (const a of again) a.disconnect();
      }
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** Wait until every node reports cluster_state:ok with all three masters known. */
async function clusterOk(admins: readonly Redis[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(admins.map((a) => a.call('CLUSTER', 'INFO').then(String, () => '')));
    if (infos.every((i) => i.includes('cluster_state:ok') && i.includes('cluster_known_nodes:3'))) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster did not form:\n${infos.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An ioredis Cluster client that fails fast like the store's own connections (no offline queue). */
export function clusterClient(nodes: readonly { host: string; port: number }[], failFast = true): Cluster {
  const client = new Cluster([...nodes], {
    enableOfflineQueue: !failFast,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2000 },
  });
  client.on('error', () => {});
  return client;
}

/**
 * A connection from a target string, as handed to child processes: a `redis://` URL, or
 * `cluster:host:port,host:port,…`. It queues commands until connected (for inspection, not for a store).
 */
export function connectTarget(target: string): Redis | Cluster {
  if (!target.startsWith('cluster:')) return new Redis(target);
  return clusterClient(nodesOf(target), false);
}

/** The nodes of a `cluster:host:port,…` target. */
export function nodesOf(target: string): { host: string; port: number }[] {
  return target
    .slice('cluster:'.length)
    .split(',')
    .map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host!, port: Number(port) };
    });
}

export function clusterTarget(nodes: readonly { host: string; port: number }[]): string {
  return `cluster:${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}
