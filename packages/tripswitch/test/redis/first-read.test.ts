import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { BreakerRegistry, CircuitBreaker, CircuitOpenError, type StoreStatus } from 'tripswitch';
import { RedisStore } from 'tripswitch/redis';
import { skipWithoutRedis } from '../helpers/redis-server.js';
import { eventually, keyOf, TOPOLOGIES, uniqueName, useRedis } from './support.js';

const PREFIX = 'tst-first-read';
const fail = () => Promise.reject(new Error('provider down'));

/**
 * DESIGN 2.2: a breaker on a shared store acts on the shared state from its first call. Each store here is
 * new and nothing waits for its first read before the calls: the calls themselves must.
 */
for (const topology of TOPOLOGIES) {
  describe(`a new breaker on a shared store is never blind (${topology})`, {
    skip: skipWithoutRedis(),
  }, () => {
    const redis = useRedis(PREFIX, {}, topology);

    /** Open the cluster for `name` from another instance and wait until Redis holds it. */
    async function openCluster(name: string, failMax = 1): Promise<void> {
      const other = new CircuitBreaker({ name, failMax, openDuration: 60_000, store: redis.store() });
      await redis.stores.at(-1)!.refresh();
      for (let i = 0; i < failMax; i++) await other.execute(fail).catch(() => {});
      await eventually('the cluster is OPEN in Redis', () => other.state === 'open', 10_000);
      await redis.stores.at(-1)!.refresh();
      assert.equal(await redis.raw.hget(keyOf(PREFIX, name, 'state'), 'state'), 'open');
    }

    test('cluster OPEN: five calls right after construction never reach the upstream', async () => {
      const name = uniqueName('blind');
      await openCluster(name);
      const breaker = new CircuitBreaker({ name, store: redis.store() });
      let upstream = 0;
      const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => breaker.execute(() => ++upstream)));
      assert.equal(upstream, 0, 'no call reached the upstream');
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.ok((r as PromiseRejectedResult).reason instanceof CircuitOpenError);
      }
      assert.equal(breaker.state, 'open');
    });

    test('cluster OPEN: tryExecute, protect and acquirePermit right away are refused too', async () => {
      const name = uniqueName('blind-variants');
      await openCluster(name);
      const breaker = new CircuitBreaker({ name, store: redis.store() });
      let upstream = 0;
      const tried = await breaker.tryExecute(() => ++upstream);
      assert.equal(tried.ok, false);
      await assert.rejects(breaker.protect(() => ++upstream)(), CircuitOpenError);
      const other = new CircuitBreaker({ name, store: redis.store() });
      await assert.rejects(other.acquirePermit(), CircuitOpenError);
      assert.equal(upstream, 0);
    });

    test('a lazily created registry.keyed() breaker refuses its first request while the cluster is OPEN', async () => {
      const key = uniqueName('tenant');
      const name = `model:${key}`;
      await openCluster(name);
      const registry = new BreakerRegistry({ defaults: { store: redis.store() } });
      let upstream = 0;
      await assert.rejects(
        registry.keyed('model', key).execute(() => ++upstream),
        CircuitOpenError,
      );
      assert.equal(upstream, 0);
    });

    test('failMax 3: two failures on a just-created breaker plus one elsewhere open the cluster', async () => {
      const name = uniqueName('pool-early');
      const elsewhere = new CircuitBreaker({ name, failMax: 3, store: redis.store() });
      await redis.stores.at(-1)!.refresh();
      await elsewhere.execute(fail).catch(() => {});
      const fresh = new CircuitBreaker({ name, failMax: 3, store: redis.store() });
      await Promise.allSettled([fresh.execute(fail), fresh.execute(fail)]);
      await eventually('the cluster opens on the pooled evidence', () => elsewhere.state === 'open', 10_000);
      assert.equal(fresh.state, 'open');
    });

    test('failures recorded before the first read (recordFailure, permits) are pooled, not dropped', async () => {
      const name = uniqueName('pool-record');
      const elsewhere = new CircuitBreaker({ name, failMax: 3, store: redis.store() });
      await redis.stores.at(-1)!.refresh();
      await elsewhere.execute(fail).catch(() => {});
      const fresh = new CircuitBreaker({ name, failMax: 3, store: redis.store() });
      fresh.recordFailure(new Error('seen by a caller'));
      fresh.recordFailure(new Error('seen by a caller'));
      await eventually('the cluster opens on the pooled evidence', () => elsewhere.state === 'open', 10_000);
    });

    test('a success recorded before the first read still resets the pooled streak', async () => {
      const name = uniqueName('pool-recover');
      const [e1, e2, e3] = [1, 2, 3].map(
        () => new CircuitBreaker({ name, failMax: 3, store: redis.store() }),
      );
      await Promise.all(redis.stores.map((s) => s.refresh()));
      await e1!.execute(fail).catch(() => {});
      await e2!.execute(fail).catch(() => {});
      await Promise.all(redis.stores.map((s) => s.refresh())); // two failures pooled
      const fresh = new CircuitBreaker({ name, failMax: 3, store: redis.store() });
      fresh.recordFailure(new Error('x'));
      fresh.recordSuccess(); // consecutive semantics: the streak is over, here and in the cluster
      const fails = keyOf(PREFIX, name, 'fails');
      await eventually(
        'the pooled streak is reset',
        async () => (await redis.raw.exists(fails)) === 0,
        10_000,
      );
      await e3!.execute(fail).catch(() => {});
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.equal(e1!.state, 'closed', 'one pooled failure after the reset, not three');
      assert.equal(await redis.raw.zcard(keyOf(PREFIX, name, 'fails')), 1);
    });
  });
}

/** A TCP server that accepts connections and never answers: Redis hung, not down. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, sockets };
}

describe('the first read is bounded by the command timeout', () => {
  for (const scenario of ['hangs', 'refuses'] as const) {
    test(`Redis that ${scenario}: calls run on local state after commandTimeout, with a storeStatus event`, async () => {
      const silent = scenario === 'hangs' ? await silentServer() : undefined;
      const port = silent?.port ?? 1; // port 1 on loopback: connection refused
      const store = new RedisStore({
        url: `redis://127.0.0.1:${port}`,
        commandTimeout: 300,
        logger: false,
        redisOptions: { enableReadyCheck: false, retryStrategy: () => null },
      });
      try {
        const breaker = new CircuitBreaker({ name: uniqueName('unbounded'), store });
        const statuses: StoreStatus[] = [];
        breaker.on('storeStatus', (status) => statuses.push(status));
        const result = await breaker.execute(() => 'served on local state');
        assert.equal(result, 'served on local state');
        assert.deepEqual(statuses, ['degraded']);
        assert.equal(breaker.store.status, 'degraded');
        // A second breaker on the already degraded store hears it too.
        const late = new CircuitBreaker({ name: uniqueName('unbounded-late'), store });
        const lateStatuses: StoreStatus[] = [];
        late.on('storeStatus', (status) => lateStatuses.push(status));
        assert.equal(await late.execute(() => 1), 1);
        assert.deepEqual(lateStatuses, ['degraded']);
      } finally {
        await store.close();
        if (silent) {
          for (const socket of silent.sockets) socket.destroy();
          silent.server.close();
        }
      }
    });
  }
});
