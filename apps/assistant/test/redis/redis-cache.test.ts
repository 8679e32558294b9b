// RedisAnswerCache against a private redis-server: per-user keys, JSON values with the stale TTL, and a
// Redis that is gone (or answers garbage) reads as a miss, never as an error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import type { CachedAnswer } from '../../src/adapters/cache/answer-cache.js';
import { RedisAnswerCache } from '../../src/adapters/cache/redis-cache.js';

const answer = (text: string): CachedAnswer => ({
  answer: text,
  sources: [{ document_id: 'doc_1', title: 'T', excerpt: 'e', score: 1 }],
  model: 'sim',
  createdAt: 1_700_000_000_000,
});

describe('RedisAnswerCache', { skip: skipWithoutRedis() }, () => {
  let server: RedisServer;
  let admin: Redis;
  const caches: RedisAnswerCache[] = [];
  const cache = (prefix: string, extra: { commandTimeoutMs?: number } = {}) => {
    const c = new RedisAnswerCache({ url: server.url, prefix, ...extra });
    caches.push(c);
    return c;
  };

  before(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
  });
  after(async () => {
    await Promise.all(caches.map((c) => c.close()));
    admin.disconnect();
    await server.stop();
  });

  test('an answer written by one instance is read by another, with the stale TTL on the key', async () => {
    const a = cache('t1');
    const b = cache('t1');
    await a.set('alice', 'what is grace', answer('Grace is a gift.'), 60_000);
    assert.deepEqual(await b.get('alice', 'what is grace'), answer('Grace is a gift.'));
    const ttl = await admin.pttl(a.key('alice', 'what is grace'));
    assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
    assert.equal(await b.get('alice', 'what is hope'), null);
    assert.deepEqual(b.stats(), { hits: 1, misses: 1, writes: 0, errors: 0 });
    assert.equal(a.stats().writes, 1);
  });

  test('users never see each other’s answers, and a crafted user id cannot reach another namespace', async () => {
    const c = cache('t2');
    await c.set('alice', 'what is grace', answer('for alice'), 60_000);
    assert.equal(await c.get('bob', 'what is grace'), null);
    // A user id that looks like another user's key prefix stays inside its own (encoded) namespace.
    const crafted = 'alice}:x';
    await c.set(crafted, 'what is grace', answer('for the crafted id'), 60_000);
    assert.equal((await c.get('alice', 'what is grace'))?.answer, 'for alice');
    assert.equal((await c.get(crafted, 'what is grace'))?.answer, 'for the crafted id');
    assert.notEqual(c.key('alice', 'q'), c.key('bob', 'q'));
    assert.match(c.key('alice', 'q'), /^t2:answers:\{alice\}:[A-Za-z0-9_-]{43}$/);
    assert.match(c.key(crafted, 'q'), /^t2:answers:\{alice%7D%3Ax\}:/);
  });

  test('a value that is not a well-formed answer is a miss', async () => {
    const c = cache('t3');
    await admin.set(c.key('alice', 'broken'), 'not json');
    await admin.set(c.key('alice', 'wrong shape'), JSON.stringify({ answer: 42 }));
    assert.equal(await c.get('alice', 'broken'), null);
    assert.equal(await c.get('alice', 'wrong shape'), null);
  });

  test('a TTL below 1 ms writes nothing', async () => {
    const c = cache('t4');
    await c.set('alice', 'q', answer('x'), 0);
    assert.equal(await admin.exists(c.key('alice', 'q')), 0);
  });

  test('invalid options throw at construction, naming the option', () => {
    assert.throws(() => new RedisAnswerCache({}), TypeError);
    assert.throws(() => new RedisAnswerCache({ url: server.url, prefix: 'a{b}' }), /prefix/);
    assert.throws(
      () => new RedisAnswerCache({ url: server.url, commandTimeoutMs: 0 }),
      (err: Error) => err instanceof RangeError && /commandTimeoutMs.*\[1, 60000\]/.test(err.message),
    );
    assert.throws(() => new RedisAnswerCache({ url: 'http://example' }), /REDIS_URL/);
  });

  test('with Redis gone, get resolves null and set resolves, quickly, and both are counted', async () => {
    const reported: unknown[] = [];
    const c = new RedisAnswerCache({ url: server.url, prefix: 't5', onError: (err) => reported.push(err) });
    caches.push(c);
    await c.set('alice', 'q', answer('before'), 60_000);
    assert.equal((await c.get('alice', 'q'))?.answer, 'before');

    await server.kill();
    try {
      const started = Date.now();
      assert.equal(await c.get('alice', 'q'), null);
      await c.set('alice', 'q', answer('during'), 60_000);
      // Fail fast: no offline queue, no hanging (a generous bound for a loaded machine).
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.equal(c.stats().errors, 2);
      assert.equal(reported.length, 2);
    } finally {
      await server.restart();
    }
  });
});
