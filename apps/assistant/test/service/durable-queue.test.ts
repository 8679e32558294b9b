// Queued jobs survive the process, on both job tables (SQLite file, PostgreSQL with DATABASE_URL):
// enqueue while the provider is down, SIGKILL the service (the real entry point in a child process),
// start a new one on the same database with the provider healthy, and every job completes. A job whose
// worker died mid-claim is claimed again once its lease expires; a graceful stop hands the running job
// back at once, its claim not counted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openSqliteStorage } from '../../src/adapters/db/sqlite-storage.js';
import { openPostgres } from '../../src/adapters/postgres/index.js';
import type { Storage } from '../../src/domain/storage.js';
import { startSim } from '../../src/sim/server.js';
import { type ChildService, spawnService } from '../helpers/child-service.js';
import { createTestDatabase, skipWithoutPostgres } from '../helpers/postgres.js';
import { DEMO_TOKEN, eventually, type Service, send, startService, waitForJob } from '../helpers/service.js';

const QUESTIONS = [
  'What does forgiveness ask of us?',
  'How do we keep hope in hard times?',
  'Why rest on the Sabbath?',
];

interface StoreUnderTest {
  name: string;
  skip: false | string;
  /** A fresh database: the environment that points the service at it, and direct access to it. */
  create(): Promise<{ env: Record<string, string>; open(): Promise<Storage> }>;
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.allSettled(cleanups.map((c) => c()));
});

const STORES: StoreUnderTest[] = [
  {
    name: 'SQLite',
    skip: false,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'assistant-restart-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'assistant.db');
      return { env: { DATABASE_PATH: path }, open: async () => openSqliteStorage(path) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: await skipWithoutPostgres(),
    async create() {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      return {
        env: { DATABASE_URL: db.url, DATABASE_POOL_MAX: '3' },
        open: () => openPostgres(db.url, { max: 2 }),
      };
    },
  },
];

for (const store of STORES) {
  describe(`durable queue on ${store.name}`, { skip: store.skip }, () => {
    test('jobs enqueued before a SIGKILL are completed by the next process on the same database', async (t) => {
      const sim = await startSim({ port: 0, host: '127.0.0.1' });
      const { env: storeEnv } = await store.create();
      const children: ChildService[] = [];
      let second: Service | undefined;
      t.after(async () => {
        await second?.close();
        for (const c of children) await c.stop('SIGKILL');
        await sim.close();
      });
      const env = {
        LLM_PROVIDER: 'sim',
        LLM_BASE_URL: sim.url,
        ...storeEnv,
        // Long enough that the first process's worker never gets to try the jobs before it dies.
        BREAKER_OPEN_MS: '600000',
      };

      sim.setMode({ mode: 'error' });
      const first = await spawnService(env);
      children.push(first);
      const ask = (base: string, body: unknown) =>
        send(`${base}/api/assistant/query`, 'POST', { token: DEMO_TOKEN, body });

      // Trip the circuit (failMax = 3), so the worker holds off and jobs stay queued.
      for (let i = 0; i < 3; i++) await ask(first.baseUrl, { query: `trip ${i}`, fallback: [] });
      const health = await send(`${first.baseUrl}/health/circuit-breakers`, 'GET');
      assert.equal(health.json.llm.state, 'open', first.output());

      const ids: string[] = [];
      for (const query of QUESTIONS) {
        const reply = await ask(first.baseUrl, { query, fallback: ['queue'] });
        assert.equal(reply.status, 202, reply.text);
        assert.equal(reply.json.metadata.fallback_reason, 'circuit_open');
        ids.push(reply.json.job_id);
      }
      for (const id of ids) {
        const pending = await send(`${first.baseUrl}/api/assistant/jobs/${id}`, 'GET', { token: DEMO_TOKEN });
        assert.equal(pending.json.status, 'queued', pending.text);
      }
      const callsBeforeKill = sim.stats().requests;
      assert.equal(callsBeforeKill, 3, 'the open circuit kept the worker away from the provider');

      await first.stop('SIGKILL');
      assert.equal(first.child.signalCode, 'SIGKILL');

      // A new process (in this one, to keep the suite quick) on the same database, with the provider back.
      sim.setMode({ mode: 'healthy' });
      second = await startService({ sim, env: storeEnv });
      for (const id of ids) {
        const job = await waitForJob(second, DEMO_TOKEN, id);
        assert.equal(job.status, 'done', JSON.stringify(job));
        assert.ok(job.result.answer.length > 0);
        assert.equal(job.result.metadata.from_fallback, false);
        assert.equal(job.result.metadata.job_id, id);
      }
      // At least one model call per job; a call that overlapped the new service's start-up may have timed
      // out and been retried, which is fine: the point is that no job was lost.
      assert.ok(sim.stats().requests - callsBeforeKill >= QUESTIONS.length);
    });

    test('a job claimed by a worker that died is claimed again after its lease expires', async (t) => {
      const { env, open } = await store.create();
      const svc = await startService({ env });
      const storage = await open();
      t.after(async () => {
        await svc.close();
        await storage.close();
      });
      const jobs = storage.jobs;

      // The service's own worker holds off while the dead worker takes the job.
      svc.app.breaker.isolate();
      const job = await jobs.enqueueJob('demo', 'What does gratitude change?', {}, { maxAttempts: 5 });
      const claimed = await jobs.claimNextJob('dead-worker', Date.now(), 500);
      assert.equal(claimed?.id, job.id);
      assert.equal((await jobs.getJob('demo', job.id))?.leaseOwner, 'dead-worker');
      svc.app.breaker.close();

      const done = await waitForJob(svc, DEMO_TOKEN, job.id);
      assert.equal(done.status, 'done', JSON.stringify(done));
      assert.ok(done.result.answer.length > 0);

      const stored = await jobs.getJob('demo', job.id);
      assert.equal(stored?.attempts, 2, 'claimed once by the dead worker, once by the live one');
      // The dead worker's late completion is refused: the lease moved on.
      assert.equal(await jobs.completeJob(job.id, 'dead-worker', { answer: 'stale' }), false);
      const kept = (await jobs.getJob('demo', job.id))?.result as { answer?: string } | null | undefined;
      assert.equal(kept?.answer, done.result.answer);
    });

    test('SIGTERM hands the running job back at once, without spending an attempt', async (t) => {
      const sim = await startSim({ port: 0, host: '127.0.0.1' });
      const { env: storeEnv, open } = await store.create();
      const storage = await open();
      let child: ChildService | undefined;
      let second: Service | undefined;
      t.after(async () => {
        await second?.close();
        await child?.stop('SIGKILL');
        await storage.close();
        await sim.close();
      });
      // The model hangs: the job stays running until the stop.
      sim.setMode({ mode: 'hang' });
      child = await spawnService({
        LLM_PROVIDER: 'sim',
        LLM_BASE_URL: sim.url,
        LLM_TIMEOUT_MS: '60000',
        ...storeEnv,
      });
      const job = await storage.jobs.enqueueJob('demo', 'What does patience grow?', {}, { maxAttempts: 5 });
      await eventually(
        async () => ((await storage.jobs.getJob('demo', job.id))?.status === 'running' ? true : undefined),
        'the worker to claim the job',
        30_000,
      );
      await child.stop('SIGTERM');
      assert.equal(child.child.exitCode, 0, child.output());
      const handedBack = await storage.jobs.getJob('demo', job.id);
      assert.equal(handedBack?.status, 'queued', 'handed back, not left running under a lease');
      assert.equal(handedBack?.attempts, 0, 'the interrupted claim is not counted');
      assert.equal(handedBack?.leaseOwner, null);

      sim.setMode({ mode: 'healthy' });
      second = await startService({ sim, env: storeEnv });
      const done = await waitForJob(second, DEMO_TOKEN, job.id);
      assert.equal(done.status, 'done', JSON.stringify(done));
    });
  });
}
