// BullMQ jobs survive the service: the real entry point runs in a child process with REDIS_URL, jobs are
// queued while the provider is down, the process is SIGKILLed, a new one starts with the provider
// healthy, and every job is answered.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { type SimServer, startSim } from '../../src/sim/server.js';
import { type ChildService, spawnService } from '../helpers/child-service.js';
import { DEMO_TOKEN, eventually, type RequestInit, send, waitForJob } from '../helpers/service.js';

const QUESTIONS = ['What does forgiveness ask of us?', 'How do we keep hope in hard times?'];

describe('BullMQ jobs across a SIGKILL of the service', { skip: skipWithoutRedis() }, () => {
  let redis: RedisServer;
  let sim: SimServer;
  let dir: string;
  let inspect: Queue;
  const children: ChildService[] = [];

  before(async () => {
    redis = await startRedisServer();
    sim = await startSim({ port: 0, host: '127.0.0.1' });
    dir = mkdtempSync(join(tmpdir(), 'assistant-redis-restart-'));
    // Reads job states straight from Redis, as the service's queue stores them.
    inspect = new Queue('jobs', { connection: { url: redis.url }, prefix: 'assistant' });
  });
  after(async () => {
    for (const c of children) await c.stop('SIGKILL');
    await inspect?.close();
    await sim?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('jobs queued before the kill are answered by the next process', async () => {
    const env = {
      LLM_PROVIDER: 'sim',
      LLM_BASE_URL: sim.url,
      DATABASE_PATH: join(dir, 'assistant.db'),
      REDIS_URL: redis.url,
      // OPEN is shared through Redis and outlives the process: short enough for the next one to probe.
      BREAKER_OPEN_MS: '3000',
    };
    sim.setMode({ mode: 'error' });
    const first = await spawnService(env);
    children.push(first);
    const ask = (body: unknown) =>
      send(`${first.baseUrl}/api/assistant/query`, 'POST', { token: DEMO_TOKEN, body });

    for (let i = 0; i < 3; i++) await ask({ query: `trip ${i}`, fallback: [] });
    const health = await send(`${first.baseUrl}/health/circuit-breakers`, 'GET');
    assert.equal(health.json.llm.state, 'open', first.output());
    assert.equal(health.json.llm.store, 'redis');

    const ids: string[] = [];
    for (const query of QUESTIONS) {
      const reply = await ask({ query, fallback: ['queue'] });
      assert.equal(reply.status, 202, reply.text);
      assert.equal(reply.json.metadata.fallback_reason, 'circuit_open');
      ids.push(reply.json.job_id);
    }
    // Kill while every job waits in Redis (put back by the worker because the circuit is open).
    await eventually(async () => {
      const states = await Promise.all(ids.map(async (id) => (await inspect.getJob(id))?.getState()));
      return states.every((s) => s === 'delayed' || s === 'waiting') ? true : undefined;
    }, 'jobs waiting in Redis');
    await first.stop('SIGKILL');
    for (const id of ids) assert.ok(await inspect.getJob(id), `job ${id} is still in Redis after the kill`);

    sim.setMode({ mode: 'healthy' });
    const second = await spawnService(env);
    children.push(second);
    const client = {
      request: (method: string, path: string, init?: RequestInit) =>
        send(`${second.baseUrl}${path}`, method, init),
    };
    for (const [i, id] of ids.entries()) {
      const done = await waitForJob(client, DEMO_TOKEN, id, 60_000);
      assert.equal(done.status, 'done', `${JSON.stringify(done)}\n${second.output()}`);
      assert.equal(done.job_id, id);
      assert.equal(done.result.metadata.job_id, id);
      assert.equal(done.result.metadata.from_fallback, false);
      assert.ok(done.result.answer.length > 0, QUESTIONS[i]);
    }
    const jobs = (await send(`${second.baseUrl}/metrics`, 'GET')).text;
    assert.match(jobs, /assistant_jobs\{status="done",queue="bullmq"\} 2/);
  });
});
