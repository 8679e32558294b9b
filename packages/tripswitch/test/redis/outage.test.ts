import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError, type StoreStatus } from 'tripswitch';
import { RedisStore, type RedisStoreOptions } from 'tripswitch/redis';
import { connectTarget } from '../helpers/redis-cluster.js';
import { skipWithoutRedis } from '../helpers/redis-server.js';
import {
  breakerConfig,
  eventually,
  keyOf,
  recordingSink,
  sleep,
  TOPOLOGIES,
  uniqueName,
  useRedis,
} from './support.js';

const PREFIX = 'tst-outage';
const fail = () => Promise.reject(new Error('provider down'));

for (const topology of TOPOLOGIES) {
  describe(`RedisStore when Redis goes away (${topology})`, { skip: skipWithoutRedis() }, () => {
    // refreshInterval 100; commandTimeout 3 s: a kill closes the socket at once, and a loaded machine must
    // not look like an outage.
    const redis = useRedis(PREFIX, { refreshInterval: 100 }, topology);
    const store = (options: Partial<RedisStoreOptions> = {}) => redis.store(options);
    const server = { kill: () => redis.server.kill(), restart: () => redis.server.restart() };

    test('Redis killed mid-load: no call fails because of Redis, one degraded event, rejoin keeps OPEN', async () => {
      const name = uniqueName('killed');
      const quick = uniqueName('quick');
      const logs: string[] = [];
      const storeEvents: StoreStatus[] = [];
      const s = store({
        logger: { warn: (m) => logs.push(`warn ${m}`), info: (m) => logs.push(`info ${m}`) },
      });
      s.on('status', (status) => storeEvents.push(status));
      const a = new CircuitBreaker({ name, failMax: 3, openDuration: 60_000, store: s });
      const breakerEvents: StoreStatus[] = [];
      a.on('storeStatus', (status) => breakerEvents.push(status));
      const witnessStore = store();
      const witness = new CircuitBreaker({ name, failMax: 3, store: witnessStore });
      await Promise.all([s.refresh(), witnessStore.refresh()]);
      // Some history first, so the cluster state has a generation that the restart will wipe.
      a.open();
      await eventually('witness OPEN', () => witness.state === 'open');
      a.close();
      await eventually('witness CLOSED', () => witness.state === 'closed');

      // Load: batches of concurrent successful calls; Redis dies in the middle.
      let ok = 0;
      let failed = 0;
      let batches = 0;
      const load = (async () => {
        const end = Date.now() + 800;
        while (Date.now() < end) {
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, () => a.execute(() => sleep(1).then(() => 'answer'))),
          );
          batches++;
          for (const r of results) r.status === 'fulfilled' ? ok++ : failed++;
        }
      })();
      await sleep(200);
      await server.kill();
      await load;
      assert.equal(failed, 0, 'no call failed because Redis died');
      assert.ok(ok >= 100 && batches >= 2, `load ran (${ok} calls)`);
      await eventually('store degraded', () => s.status === 'degraded');
      assert.deepEqual(breakerEvents, ['degraded']);
      assert.equal(a.store.status, 'degraded');

      // The breaker keeps protecting on its own while Redis is away…
      for (let i = 0; i < 3; i++) await assert.rejects(a.execute(fail), /provider down/);
      assert.equal(a.state, 'open');
      await assert.rejects(
        a.execute(() => 'no'),
        CircuitOpenError,
      );
      // …and probes on its own (no cluster lease to ask for).
      const b = new CircuitBreaker({ name: quick, failMax: 1, openDuration: 30, store: s });
      await assert.rejects(b.execute(fail), /provider down/);
      await sleep(50);
      assert.equal(await b.execute(() => 'probe ok'), 'probe ok');
      assert.equal(b.state, 'closed');
      await sleep(300); // still down: still one degraded event
      assert.deepEqual(breakerEvents, ['degraded']);

      // Redis comes back empty (no persistence): the OPEN seen meanwhile must not be lost.
      await server.restart();
      await eventually('store connected again', () => s.status === 'connected', 10_000);
      assert.deepEqual(breakerEvents, ['degraded', 'connected']);
      assert.deepEqual(storeEvents, ['degraded', 'connected']);
      const raw = connectTarget(redis.target);
      try {
        let state: string | null = null;
        for (let i = 0; i < 200 && state !== 'open'; i++) {
          state = await raw.hget(keyOf(PREFIX, name, 'state'), 'state');
          if (state !== 'open') await sleep(20);
        }
        assert.equal(state, 'open');
        assert.ok((await raw.pttl(keyOf(PREFIX, name, 'state'))) > 0);
      } finally {
        raw.disconnect();
      }
      assert.equal(a.state, 'open', 'still OPEN locally');
      assert.ok(a.retryAfter > 50_000, 'with the rest of its open duration');
      await eventually('the other instance learns the OPEN', () => witness.state === 'open', 10_000);
      const late = new CircuitBreaker({ name, store: store() });
      await eventually('a new instance starts OPEN', () => late.state === 'open', 10_000);
      assert.equal(logs.filter((l) => l.startsWith('warn')).length, 1, logs.join('\n'));
      assert.match(logs[0]!, /Redis unreachable/);
      assert.ok(logs.some((l) => /info .*reachable again/.test(l)));
      assert.equal(s.stats().degradations, 1);
    });

    test('while degraded the store grants probe leases locally, at once', async () => {
      const name = uniqueName('local-lease');
      const s = store();
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig());
      await s.refresh();
      await server.kill();
      try {
        await eventually('degraded', () => s.status === 'degraded');
        const lease = link.acquireProbe();
        assert.ok(lease !== null && !(lease instanceof Promise), 'granted synchronously, no Redis wait');
        lease.release('success');
        link.failed(1);
        link.recovered();
        link.transitioned('closed', { state: 'open', openUntil: Date.now() + 60_000 });
        assert.deepEqual(sink.statuses, ['degraded']);
      } finally {
        await server.restart();
      }
      await eventually('connected', () => s.status === 'connected', 10_000);
      assert.deepEqual(sink.statuses, ['degraded', 'connected']);
    });
  });
}

describe('RedisStore with Redis unreachable from the start', () => {
  test('breakers work on local state and report degraded', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const address = srv.address();
        srv.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const s = new RedisStore({ url: `redis://127.0.0.1:${port}`, logger: false, commandTimeout: 200 });
    try {
      const breaker = new CircuitBreaker({ name: 'offline', failMax: 2, openDuration: 30, store: s });
      const events: StoreStatus[] = [];
      breaker.on('storeStatus', (status) => events.push(status));
      assert.equal(await breaker.execute(() => 'fine'), 'fine');
      await eventually('degraded', () => s.status === 'degraded');
      assert.deepEqual(events, ['degraded']);
      await assert.rejects(breaker.execute(fail));
      await assert.rejects(breaker.execute(fail));
      assert.equal(breaker.state, 'open');
      await sleep(40);
      assert.equal(await breaker.execute(() => 'probe'), 'probe');
      assert.equal(breaker.state, 'closed');
    } finally {
      await s.close();
    }
  });
});
