// Redis mode without Redis: the service starts, answers from the model, says "degraded" in health and
// /metrics, fails a queue fallback at once instead of hanging, and still shuts down promptly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { eventually, metricValue, type Service, startService } from '../helpers/service.js';

const ALICE = 'tok-a';

describe('Redis mode while Redis is unreachable', { skip: skipWithoutRedis() }, () => {
  let redis: RedisServer;
  const services: Service[] = [];

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const s of services) await s.close();
    await redis.stop();
  });

  async function start(): Promise<Service> {
    const svc = await startService({ env: { REDIS_URL: redis.url, ASSISTANT_TOKENS: `${ALICE}:alice` } });
    services.push(svc);
    return svc;
  }

  async function checkDegraded(svc: Service): Promise<void> {
    const healthy = await svc.query(ALICE, { query: 'What is mercy?' });
    assert.equal(healthy.status, 200, healthy.text);
    assert.equal(healthy.json.metadata.from_fallback, false);

    await eventually(
      async () => ((await svc.llmHealth()).store_status === 'degraded' ? true : undefined),
      'degraded',
    );
    const metrics = await svc.metricsText();
    assert.equal(metricValue(metrics, 'circuit_breaker_store_degraded', { breaker_name: 'llm' }), 1);

    // No document, no cache, provider down, only the queue allowed: the queue cannot take it either.
    await svc.setMode({ mode: 'error' });
    const started = Date.now();
    const queued = await svc.query(ALICE, { query: 'What is patience?', fallback: ['queue'] });
    assert.equal(queued.status, 503, queued.text);
    assert.match(queued.headers.get('retry-after') ?? '', /^\d+$/, '503 says when to come back');
    assert.ok(Date.now() - started < 10_000, 'the enqueue failed instead of waiting for Redis');
    await svc.setMode({ mode: 'healthy' });
  }

  test('Redis lost mid-life: model answers still flow, degradation is visible, the queue fails fast', async () => {
    const svc = await start();
    // Connected first (a start under a loaded machine may see one slow command and rejoin: wait for it).
    await eventually(
      async () => ((await svc.llmHealth()).store_status === 'connected' ? true : undefined),
      'connected before the outage',
    );
    await redis.kill();
    try {
      await checkDegraded(svc);
      const closing = Date.now();
      await svc.close();
      assert.ok(Date.now() - closing < 12_000, `close took ${Date.now() - closing} ms`);
    } finally {
      await redis.restart();
    }
  });

  test('Redis unreachable from the start: the service starts and serves; it rejoins when Redis comes', async () => {
    await redis.kill();
    let svc: Service;
    try {
      svc = await start();
      await checkDegraded(svc);
    } finally {
      await redis.restart();
    }
    await eventually(
      async () => ((await svc.llmHealth()).store_status === 'connected' ? true : undefined),
      'connected again',
      15_000,
    );
    const queued = await (async () => {
      await svc.setMode({ mode: 'error' });
      try {
        return await eventually(
          async () => {
            const reply = await svc.query(ALICE, { query: 'What is patience?', fallback: ['queue'] });
            return reply.status === 202 ? reply : undefined;
          },
          'the queue to take jobs again',
          15_000,
          200,
        );
      } finally {
        await svc.setMode({ mode: 'healthy' });
      }
    })();
    assert.match(queued.json.job_id, /^job_/);
  });
});
