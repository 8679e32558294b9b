// Two service instances (two createApp, each with its own SQLite file) behind one private redis-server
// (REDIS_URL): they share the L2 answer cache, the BullMQ job queue and the breaker state, and users
// stay apart in all of them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { type SimServer, startSim } from '../../src/sim/server.js';
import { eventually, metricValue, type Service, startService, waitForJob } from '../helpers/service.js';

const ALICE = 'tok-a';
const BOB = 'tok-b';
const DOC = {
  title: 'On Grace',
  content:
    'Grace is a gift that nobody earns. It arrives before we ask and stays when we fail. ' +
    'Gratitude is how grace is answered.',
};

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('two instances behind one Redis (REDIS_URL)', { skip: skipWithoutRedis() }, () => {
  let redis: RedisServer;
  let admin: Redis;
  let sim: SimServer;
  let a: Service;
  let b: Service;

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    sim = await startSim({ port: 0, host: '127.0.0.1' });
    const env = { REDIS_URL: redis.url, ASSISTANT_TOKENS: `${ALICE}:alice,${BOB}:bob` };
    a = await startService({ sim, env });
    b = await startService({ sim, env });
    // Each instance has its own documents database: the same user's document goes to both.
    for (const svc of [a, b]) {
      const reply = await svc.request('POST', '/api/documents', { token: ALICE, body: DOC });
      assert.equal(reply.status, 201, reply.text);
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await sim?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  test('both report the shared store in health and the store gauge in /metrics', async () => {
    for (const svc of [a, b]) {
      const health = await svc.llmHealth();
      assert.equal(health.store, 'redis');
      assert.equal(health.store_status, 'connected');
      assert.equal(svc.app.queue.kind, 'bullmq');
      const metrics = await svc.metricsText();
      assert.equal(metricValue(metrics, 'circuit_breaker_store_degraded', { breaker_name: 'llm' }), 0);
    }
  });

  test('an answer from the model on A is served by B from L2 when the provider is down', async () => {
    await sim.setMode({ mode: 'healthy' });
    const query = 'What is grace?';
    const fresh = await a.query(ALICE, { query });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.metadata.from_fallback, false);
    assert.equal(fresh.json.metadata.cached, false);
    // A writes L2 in the background.
    await eventually(
      async () => ((await scanAll(admin, 'assistant:answers:{alice}:*')).length === 1 ? true : undefined),
      'the answer in Redis',
    );

    await sim.setMode({ mode: 'error' });
    const served = await b.query(ALICE, { query: 'what is grace' });
    assert.equal(served.status, 200, served.text);
    assert.equal(served.json.metadata.from_fallback, true);
    assert.equal(served.json.metadata.fallback_level, 'l2_cache');
    assert.equal(served.json.metadata.cached, true);
    assert.equal(served.json.answer, fresh.json.answer);
    assert.deepEqual(served.json.sources, fresh.json.sources);

    // Bob asks the same question on B: Alice's answer is not his (no documents, so nothing can serve).
    const bob = await b.query(BOB, { query });
    assert.notEqual(bob.json?.metadata?.fallback_level, 'l2_cache', bob.text);
    assert.ok(!bob.text.includes(fresh.json.answer), 'bob never sees alice’s answer');
    assert.deepEqual(await scanAll(admin, 'assistant:answers:{bob}:*'), []);
  });

  test('a job queued on A is answered by a worker and readable on B, by its owner only', async () => {
    await sim.setMode({ mode: 'error' });
    const queued = await a.query(ALICE, { query: 'How is grace answered?', fallback: ['queue'] });
    assert.equal(queued.status, 202, queued.text);
    const id: string = queued.json.job_id;
    assert.equal(queued.json.metadata.job_id, id);

    const onB = await b.request('GET', `/api/assistant/jobs/${id}`, { token: ALICE });
    assert.equal(onB.status, 200, onB.text);
    assert.ok(['queued', 'running'].includes(onB.json.status), onB.text);
    for (const svc of [a, b]) {
      const asBob = await svc.request('GET', `/api/assistant/jobs/${id}`, { token: BOB });
      assert.equal(asBob.status, 404, 'another user’s job does not exist for bob');
    }

    await sim.setMode({ mode: 'healthy' });
    const done = await waitForJob(b, ALICE, id, 30_000);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.equal(done.result.metadata.job_id, id);
    assert.equal(done.result.metadata.from_fallback, false);
    assert.match(done.result.answer, /grace/i);
    const onA = await a.request('GET', `/api/assistant/jobs/${id}`, { token: ALICE });
    assert.deepEqual(onA.json, done);

    const metrics = await a.metricsText();
    assert.ok((metricValue(metrics, 'assistant_jobs', { status: 'done', queue: 'bullmq' }) ?? 0) >= 1);
  });

  test('a trip on A is seen by B (shared breaker state)', async () => {
    await sim.setMode({ mode: 'healthy' });
    a.app.breaker.reset();
    await eventually(() => (b.app.breaker.state === 'closed' ? true : undefined), 'B closed');
    a.app.breaker.open();
    await eventually(() => (b.app.breaker.state === 'open' ? true : undefined), 'B open', 5_000);
    a.app.breaker.reset();
    await eventually(() => (b.app.breaker.state === 'closed' ? true : undefined), 'B closed again', 5_000);
  });

  test('nothing here uses KEYS', async () => {
    const stats = await admin.info('commandstats');
    assert.match(stats, /cmdstat_(get|set|evalsha)/);
    assert.doesNotMatch(stats, /cmdstat_keys:/);
  });
});
