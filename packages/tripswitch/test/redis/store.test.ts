import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ProbeLease, StoreLink } from 'tripswitch';
import { RedisStore, type RedisStoreOptions } from 'tripswitch/redis';
import { skipWithoutRedis } from '../helpers/redis-server.js';
import {
  breakerConfig,
  eventually,
  keyOf,
  type RecordingSink,
  recordingSink,
  scanAll,
  sleep,
  TOPOLOGIES,
  uniqueName,
  useRedis,
} from './support.js';

const PREFIX = 'tst-store';

for (const topology of TOPOLOGIES) {
  describe(`RedisStore against a real redis-server (${topology})`, { skip: skipWithoutRedis() }, () => {
    const redis = useRedis(PREFIX, {}, topology);
    const store = (options: Partial<RedisStoreOptions> = {}) => redis.store(options);
    const stateKey = (name: string) => keyOf(PREFIX, name, 'state');
    const serverNow = async () => {
      const [s, us] = await redis.raw.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };

    test('a transition in one instance is adopted by another through pub/sub', async () => {
      const name = uniqueName('pubsub');
      const [a, b] = [store(), store()]; // refreshInterval 60 s: only pub/sub can deliver in time
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = a.attach(sa, breakerConfig());
      b.attach(sb, breakerConfig());
      await Promise.all([a.refresh(), b.refresh()]);
      la.transitioned('closed', { state: 'open', openUntil: Date.now() + 30_000 });
      await eventually('B adopts OPEN', () => sb.last()?.state === 'open');
      assert.ok(Math.abs(sb.last()!.openUntil - (Date.now() + 30_000)) < 2_000, 'open-until carried over');
      assert.equal(sa.adopted.length, 0, 'A does not re-adopt its own transition');
      assert.equal(await redis.raw.hget(stateKey(name), 'state'), 'open');
      la.transitioned('open', { state: 'closed', openUntil: 0 }, 'manual');
      await eventually('B adopts CLOSED', () => sb.last()?.state === 'closed');
    });

    /** A transition written the way the scripts write it (namespace version bumped, name logged), unpublished. */
    async function silentTransition(name: string, state: string): Promise<void> {
      // One script, so the store's backstop never sees half of it.
      await redis.raw.eval(
        `local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        redis.call('HSETNX', KEYS[1], 'epoch', string.format('%d', now))
        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        redis.call('ZADD', KEYS[2], seq, ARGV[1])
        redis.call('HSET', KEYS[3], 'state', ARGV[2], 'gen', string.format('%d', now), 'until', '0', 'by', 'test')`,
        3,
        `{${PREFIX}}:ns`,
        `{${PREFIX}}:log`,
        stateKey(name),
        name,
        state,
      );
    }

    test('the periodic re-read catches a change whose message was missed', async () => {
      const name = uniqueName('backstop');
      const s = store({ refreshInterval: 50 });
      const sink = recordingSink(name);
      s.attach(sink, breakerConfig());
      await s.refresh();
      await silentTransition(name, 'isolated'); // no message: only the backstop can see it
      await eventually('re-read adopts ISOLATED', () => sink.last()?.state === 'isolated');
    });

    test('idle backstop: one version read per interval, no per-breaker reads', async () => {
      const s = store({ refreshInterval: 50 });
      for (let i = 0; i < 50; i++) s.attach(recordingSink(uniqueName('idle')), breakerConfig());
      await s.refresh();
      await sleep(100);
      const before = s.stats().roundTrips;
      await sleep(600);
      const trips = s.stats().roundTrips - before;
      // ~12 ticks in 600 ms; each is one HMGET however many breakers are attached (50 here).
      assert.ok(trips >= 2 && trips <= 14, `round trips in 600 ms: ${trips}`);
    });

    test('a missed message is noticed by the next one (sequence gap) and re-read at once', async () => {
      const [missed, next] = [uniqueName('gap-missed'), uniqueName('gap-next')];
      const a = store();
      const b = store(); // refreshInterval 60 s: the backstop plays no part
      const la = a.attach(recordingSink(next), breakerConfig());
      const sinkMissed = recordingSink(missed);
      const sinkNext = recordingSink(next);
      b.attach(sinkMissed, breakerConfig());
      b.attach(sinkNext, breakerConfig());
      await Promise.all([a.refresh(), b.refresh()]);
      await silentTransition(missed, 'isolated');
      la.transitioned('closed', { state: 'open', openUntil: Date.now() + 30_000 });
      await eventually('B adopts the published transition', () => sinkNext.last()?.state === 'open');
      await eventually('B catches up the missed one', () => sinkMissed.last()?.state === 'isolated');
      assert.ok(b.stats().gaps >= 1);
      assert.equal(b.stats().pubsub, 'ssubscribe', 'Redis 7: sharded pub/sub');
    });

    test('a breaker attached while the cluster is OPEN starts OPEN', async () => {
      const name = uniqueName('late-joiner');
      const a = store();
      const la = a.attach(recordingSink(name), breakerConfig());
      await a.refresh();
      la.transitioned('closed', { state: 'open', openUntil: Date.now() + 10_000 });
      await a.refresh(); // queue drained: the transition is in Redis
      const late = recordingSink(name);
      store().attach(late, breakerConfig());
      await eventually('late joiner adopts OPEN', () => late.last()?.state === 'open');
    });

    test('exactly one probe lease across many concurrent acquirers in many instances', async () => {
      const name = uniqueName('lease');
      const links: StoreLink[] = [];
      const sinks: RecordingSink[] = [];
      // The guarantee is about connected instances with live leases: a lease that expired may go to
      // another instance, and a degraded store probes on local state (both by design). So the lease
      // outlives the test's own time limit, and a stall of this loaded machine is no outage.
      const config = breakerConfig({ halfOpenTimeout: 600_000 });
      for (let i = 0; i < 12; i++) {
        const sink = recordingSink(name);
        sinks.push(sink);
        links.push(store({ commandTimeout: 30_000 }).attach(sink, config));
      }
      await Promise.all(redis.stores.map((s) => s.refresh()));
      links[0]!.transitioned('closed', { state: 'open', openUntil: Date.now() }); // probing time at once
      await eventually('every other instance adopts OPEN', () =>
        sinks.slice(1).every((s) => s.last()?.state === 'open'),
      );
      const attempts: Array<ProbeLease | null | Promise<ProbeLease | null>> = [];
      for (let round = 0; round < 10; round++) for (const link of links) attempts.push(link.acquireProbe());
      const results = await Promise.all(attempts);
      const granted = results.filter((r) => r !== null);
      assert.equal(results.length, 120);
      assert.deepEqual(
        links.map((l) => l.status),
        links.map(() => 'connected'),
      );
      assert.equal(granted.length, 1, 'one lease in the whole cluster');
      assert.equal(await redis.raw.exists(keyOf(PREFIX, name, 'probe:0')), 1, 'held in Redis');
      // Handing it back (neutral) frees the slot for someone else.
      granted[0]!.release('neutral');
      let next: ProbeLease | null = null;
      const deadline = Date.now() + 30_000;
      while (next === null && Date.now() < deadline) {
        next = await links[5]!.acquireProbe();
        if (next === null) await sleep(20);
      }
      assert.notEqual(next, null);
      next?.release('neutral');
    });

    test('a probe success inside its lease closes the cluster; every instance follows', async () => {
      const name = uniqueName('probe-ok');
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = store().attach(sa, breakerConfig());
      store().attach(sb, breakerConfig());
      await Promise.all(redis.stores.map((s) => s.refresh()));
      la.transitioned('closed', { state: 'open', openUntil: Date.now() });
      await eventually('B adopts OPEN', () => sb.last()?.state === 'open');
      const lease = await la.acquireProbe();
      assert.ok(lease);
      // The breaker reports the transition and then releases, in the same tick.
      la.transitioned('half-open', { state: 'closed', openUntil: 0 });
      lease.release('success');
      await eventually('B adopts CLOSED', () => sb.last()?.state === 'closed');
      assert.equal(await redis.raw.hget(stateKey(name), 'state'), 'closed');
      assert.equal(await redis.raw.exists(keyOf(PREFIX, name, 'probe:0')), 0, 'lease deleted');
    });

    test('a probe result that arrives after its lease expired is ignored', async () => {
      const name = uniqueName('probe-late');
      const s = store({ leaseGrace: 0 });
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig({ halfOpenTimeout: 100 }));
      await s.refresh();
      link.transitioned('closed', { state: 'open', openUntil: Date.now() });
      await s.refresh();
      const lease = await link.acquireProbe();
      assert.ok(lease);
      await sleep(250);
      assert.equal(await redis.raw.exists(keyOf(PREFIX, name, 'probe:0')), 0, 'lease expired in Redis');
      link.transitioned('half-open', { state: 'closed', openUntil: 0 });
      lease.release('success');
      await eventually('the cluster state (OPEN) is re-adopted', () => sink.last()?.state === 'open');
      assert.equal(
        await redis.raw.hget(stateKey(name), 'state'),
        'open',
        'cluster not closed by the late result',
      );
    });

    test('a probe lease extended by its probe signs of life outlives its period; a lost lease stays lost', async () => {
      const name = uniqueName('probe-extend');
      const s = store({ leaseGrace: 0 }); // lease = halfOpenTimeout; every sign of life extends it
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig({ halfOpenTimeout: 200 }));
      const other = store().attach(recordingSink(name), breakerConfig({ halfOpenTimeout: 200 }));
      await Promise.all(redis.stores.map((x) => x.refresh()));
      link.transitioned('closed', { state: 'open', openUntil: Date.now() });
      await s.refresh();
      const lease = await link.acquireProbe();
      assert.ok(lease?.extend, 'a Redis lease can be extended');
      const slot = keyOf(PREFIX, name, 'probe:0');
      for (let i = 0; i < 10; i++) {
        await sleep(60); // 600 ms in all: three lease periods
        lease.extend();
      }
      await s.refresh(); // the queued extensions have run
      assert.equal(await redis.raw.exists(slot), 1, 'the lease is still held');
      assert.equal(await other.acquireProbe(), null, 'nobody else probes meanwhile');
      link.transitioned('half-open', { state: 'closed', openUntil: 0 });
      lease.release('success');
      await eventually('the probe result is applied', async () => {
        return (await redis.raw.hget(stateKey(name), 'state')) === 'closed';
      });
      // A lease that expired is not revived by a late extension.
      link.transitioned('closed', { state: 'open', openUntil: Date.now() });
      await s.refresh();
      const lost = await link.acquireProbe();
      assert.ok(lost?.extend);
      await sleep(300);
      assert.equal(await redis.raw.exists(slot), 0, 'expired');
      const taken = await other.acquireProbe();
      assert.ok(taken, 'another instance takes the free slot');
      lost.extend();
      await s.refresh();
      assert.ok((await redis.raw.pttl(slot)) > 0);
      taken.release('neutral');
      lost.release('neutral');
    });

    test('clock skew of ten minutes changes nothing: times travel as durations on server time', async () => {
      const name = uniqueName('skew');
      const skew = 600_000;
      const skewed = recordingSink(name);
      const normal = recordingSink(name);
      const ls = store().attach(skewed, breakerConfig({ now: () => Date.now() + skew }));
      const ln = store().attach(normal, breakerConfig());
      await Promise.all(redis.stores.map((s) => s.refresh()));
      ln.transitioned('closed', { state: 'open', openUntil: Date.now() + 20_000 });
      await eventually('skewed instance adopts', () => skewed.last()?.state === 'open');
      assert.ok(
        Math.abs(skewed.last()!.openUntil - (Date.now() + skew + 20_000)) < 2_000,
        'on the skewed clock',
      );
      const until = Number(await redis.raw.hget(stateKey(name), 'until'));
      assert.ok(Math.abs(until - (await serverNow()) - 20_000) < 2_000, 'server redis.stores server time');
      // And the other way round: the skewed instance opens for 20 s of its own clock.
      ls.transitioned('open', { state: 'open', openUntil: Date.now() + skew + 45_000 }, 'manual');
      await eventually('normal instance adopts', () => (normal.last()?.openUntil ?? 0) > Date.now() + 30_000);
      assert.ok(Math.abs(normal.last()!.openUntil - (Date.now() + 45_000)) < 2_000, 'on the normal clock');
    });

    test('concurrent trips of two instances end in one cluster state (generation compare-and-set)', async () => {
      const name = uniqueName('cas');
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = store().attach(sa, breakerConfig());
      const lb = store().attach(sb, breakerConfig());
      await Promise.all(redis.stores.map((s) => s.refresh()));
      la.transitioned('closed', { state: 'open', openUntil: Date.now() + 10_000 });
      lb.transitioned('closed', { state: 'open', openUntil: Date.now() + 40_000 });
      await sleep(100);
      await Promise.all(redis.stores.map((s) => s.refresh()));
      const gen = await redis.raw.hget(stateKey(name), 'gen');
      const until = Number(await redis.raw.hget(stateKey(name), 'until'));
      const remaining = until - (await serverNow());
      // Exactly one of the two won; the loser adopted the winner's open-until.
      const winnerIsA = remaining < 25_000;
      const loser = winnerIsA ? sb : sa;
      assert.equal(loser.last()?.state, 'open');
      assert.ok(Math.abs(loser.last()!.openUntil - (Date.now() + remaining)) < 2_000);
      assert.equal((winnerIsA ? sa : sb).adopted.length, 0);
      assert.ok(Number(gen) > 0);
    });

    test('a transition based on an outdated generation loses; a manual one wins', async () => {
      const name = uniqueName('stale');
      const s = store();
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig());
      await s.refresh();
      // Another instance's decision that this one has not heard of (written without a message).
      await redis.raw.hset(stateKey(name), {
        state: 'isolated',
        gen: String(await serverNow()),
        until: '0',
        by: 'other',
      });
      link.transitioned('closed', { state: 'open', openUntil: Date.now() + 5_000 });
      await eventually('the cluster state is adopted instead', () => sink.last()?.state === 'isolated');
      assert.equal(await redis.raw.hget(stateKey(name), 'state'), 'isolated');
      link.transitioned('isolated', { state: 'closed', openUntil: 0 }, 'manual');
      await s.refresh();
      assert.equal(await redis.raw.hget(stateKey(name), 'state'), 'closed');
      assert.equal(sink.adopted.length, 1);
    });

    test('failures are pooled: the cluster opens on the cluster’s evidence', async () => {
      const name = uniqueName('pool');
      const sinks = [recordingSink(name), recordingSink(name), recordingSink(name)];
      const cfg = breakerConfig({ failMax: 3, nextOpenDuration: () => 30_000 });
      const links = sinks.map((sink) => store().attach(sink, cfg));
      await Promise.all(redis.stores.map((s) => s.refresh()));
      for (const link of links) link.failed(1); // one failure each: no instance reaches failMax alone
      await eventually('all adopt OPEN', () => sinks.every((s) => s.last()?.state === 'open'));
      for (const s of sinks) assert.ok(Math.abs(s.last()!.openUntil - (Date.now() + 30_000)) < 2_000);
    });

    test('consecutive semantics: a recovery resets the pooled count', async () => {
      const name = uniqueName('recover');
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = store().attach(sa, breakerConfig({ failMax: 3 }));
      const lb = store().attach(sb, breakerConfig({ failMax: 3 }));
      await Promise.all(redis.stores.map((s) => s.refresh()));
      const fails = keyOf(PREFIX, name, 'fails');
      la.failed(1);
      la.failed(2);
      await sleep(20);
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.equal(await redis.raw.zcard(fails), 2);
      la.recovered();
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.equal(await redis.raw.zcard(fails), 0);
      lb.failed(1);
      lb.failed(2);
      await sleep(50);
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.equal(await redis.raw.zcard(fails), 2);
      assert.notEqual(await redis.raw.hget(stateKey(name), 'state'), 'open');
      assert.equal(sb.adopted.length + sa.adopted.length, 0);
    });

    test('failWindow: pooled failures older than the window no longer count', async () => {
      const name = uniqueName('window');
      const s = store();
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig({ failMax: 3, failWindow: 200 }));
      await s.refresh();
      link.failed(1);
      link.failed(2);
      await sleep(20);
      await s.refresh();
      await sleep(300);
      link.failed(1);
      await sleep(20);
      await s.refresh();
      assert.equal(await redis.raw.zcard(keyOf(PREFIX, name, 'fails')), 1);
      assert.notEqual(await redis.raw.hget(stateKey(name), 'state'), 'open');
      assert.equal(sink.adopted.length, 0);
    });

    test('quorum: the cluster opens only when enough distinct instances failed; a lone trip stays local', async () => {
      const name = uniqueName('quorum');
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = store({ quorum: 2 }).attach(sa, breakerConfig({ failMax: 3 }));
      const lb = store({ quorum: 2 }).attach(sb, breakerConfig({ failMax: 3 }));
      await Promise.all(redis.stores.map((s) => s.refresh()));
      for (let i = 1; i <= 5; i++) la.failed(i);
      la.transitioned('closed', { state: 'open', openUntil: Date.now() + 5_000 }); // A's own trip
      await sleep(50);
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.notEqual(await redis.raw.hget(stateKey(name), 'state'), 'open', 'one instance is not a quorum');
      assert.equal(sb.adopted.length, 0);
      assert.equal(sa.adopted.length, 0, 'A keeps its local OPEN');
      assert.notEqual(await la.acquireProbe(), null, 'A probes on its own');
      lb.failed(1);
      await eventually('B adopts the cluster OPEN', () => sb.last()?.state === 'open');
      assert.equal(await redis.raw.hget(stateKey(name), 'state'), 'open');
    });

    test('every key the store writes has a TTL; no key without one', async () => {
      const name = uniqueName('ttl');
      const s = store({ keyTtl: 60_000 });
      const sink = recordingSink(name);
      const link = s.attach(sink, breakerConfig({ failMax: 10 }));
      await s.refresh();
      link.failed(1); // fails + reporters
      await sleep(20);
      await s.refresh();
      link.transitioned('closed', { state: 'open', openUntil: Date.now() }); // state
      await s.refresh();
      const other = store().attach(recordingSink(name), breakerConfig({ failMax: 10 }));
      await Promise.all(redis.stores.map((x) => x.refresh()));
      const lease = await other.acquireProbe(); // probe slot
      assert.ok(lease);
      const keys = await scanAll(redis.raw, keyOf(PREFIX, name, '*'));
      assert.ok(keys.includes(stateKey(name)) && keys.some((k) => k.endsWith(':probe:0')), keys.join(','));
      for (const key of keys) {
        const ttl = await redis.raw.pttl(key);
        assert.ok(ttl > 0, `${key} has a TTL (got ${ttl})`);
      }
      // A failure streak before the transition had its own TTL too (deleted by the transition since).
      assert.equal(await redis.raw.exists(keyOf(PREFIX, name, 'fails')), 0);
    });

    test('hash tags keep a namespace in one slot, whatever the breaker names', async () => {
      const names = [`we{ir}d}${uniqueName('tag')}`, `{${uniqueName('tag')}}`, `a|b:c${uniqueName('tag')}`];
      const s = store();
      for (const name of names) {
        const link = s.attach(recordingSink(name), breakerConfig());
        await s.refresh();
        link.transitioned('closed', { state: 'open', openUntil: Date.now() + 5_000 });
        await s.refresh();
        assert.equal(await redis.raw.hget(keyOf(PREFIX, name, 'state'), 'state'), 'open', name);
      }
      // Redis Cluster hashes only the part between the first '{' and the next '}': the prefix, for every key.
      const tag = (key: string) => key.slice(key.indexOf('{') + 1, key.indexOf('}', key.indexOf('{') + 1));
      const keys = names.flatMap((name) =>
        ['state', 'fails', 'reporters', 'probe:0'].map((suffix) => keyOf(PREFIX, name, suffix)),
      );
      keys.push(`{${PREFIX}}:ns`, `{${PREFIX}}:log`, `{${PREFIX}}:events`);
      assert.deepEqual(new Set(keys.map(tag)), new Set([PREFIX]));
    });
  });
}

describe('RedisStore options', () => {
  test('invalid options throw RangeError/TypeError naming the option', () => {
    const cases: Array<[RedisStoreOptions, ErrorConstructor, RegExp]> = [
      [{ commandTimeout: 0 }, RangeError, /commandTimeout/],
      [{ refreshInterval: Number.NaN }, TypeError, /refreshInterval/],
      [{ quorum: 1.5 }, RangeError, /quorum.*integer/],
      [{ keyTtl: -1 }, RangeError, /keyTtl/],
      [{ leaseGrace: Number.POSITIVE_INFINITY }, RangeError, /leaseGrace/],
      [{ prefix: 'a{b}' }, TypeError, /prefix/],
      [{ client: {} as Redis, url: 'redis://127.0.0.1:1' }, TypeError, /either client/],
    ];
    for (const [options, type, message] of cases) {
      assert.throws(
        () => new RedisStore({ logger: false, ...options }),
        (err: unknown) => {
          assert.ok(err instanceof type, `${JSON.stringify(options)} -> ${String(err)}`);
          assert.match((err as Error).message, message);
          return true;
        },
      );
    }
  });
});
