// Queued jobs survive the process: enqueue while the provider is down, SIGKILL the service (the real
// entry point in a child process), start a new one on the same SQLite file with the provider healthy,
// and every job completes. A job whose worker
// died mid-claim is claimed again once its lease expires.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobRepository } from '../../src/adapters/db/jobs.js';
import { startSim } from '../../src/sim/server.js';
import { type ChildService, spawnService } from '../helpers/child-service.js';
import { DEMO_TOKEN, type Service, send, sqliteDb, startService, waitForJob } from '../helpers/service.js';

const QUESTIONS = [
  'What does forgiveness ask of us?',
  'How do we keep hope in hard times?',
  'Why rest on the Sabbath?',
];

test('jobs enqueued before a SIGKILL are completed by the next process on the same database', async (t) => {
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'assistant-restart-'));
  const children: ChildService[] = [];
  let second: Service | undefined;
  t.after(async () => {
    await second?.close();
    for (const c of children) await c.stop('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = {
    LLM_PROVIDER: 'sim',
    LLM_BASE_URL: sim.url,
    DATABASE_PATH: join(dir, 'assistant.db'),
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

  // A new process (in this one, to keep the suite quick) on the same file, with the provider back.
  sim.setMode({ mode: 'healthy' });
  second = await startService({ sim, databasePath: env.DATABASE_PATH });
  for (const id of ids) {
    const job = await waitForJob(second, DEMO_TOKEN, id);
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.ok(job.result.answer.length > 0);
    assert.equal(job.result.metadata.from_fallback, false);
    assert.equal(job.result.metadata.job_id, id);
  }
  // At least one model call per job; a call that overlapped the new service's start-up may have timed out
  // and been retried, which is fine: the point is that no job was lost.
  assert.ok(sim.stats().requests - callsBeforeKill >= QUESTIONS.length);
});

test('a job claimed by a worker that died is claimed again after its lease expires', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  const repo = new JobRepository(sqliteDb(svc.app));

  // Enqueue and claim in one synchronous step, so the service's own worker cannot take it first.
  const job = repo.enqueueJob('demo', 'What does gratitude change?', {}, { maxAttempts: 5 });
  const claimed = repo.claimNextJob('dead-worker', Date.now(), 500);
  assert.equal(claimed?.id, job.id);
  assert.equal(repo.getJob('demo', job.id)?.status, 'running');
  assert.equal(repo.getJob('demo', job.id)?.leaseOwner, 'dead-worker');

  const done = await waitForJob(svc, DEMO_TOKEN, job.id);
  assert.equal(done.status, 'done', JSON.stringify(done));
  assert.ok(done.result.answer.length > 0);

  const stored = repo.getJob('demo', job.id);
  assert.equal(stored?.attempts, 2, 'claimed once by the dead worker, once by the live one');
  // The dead worker's late completion is refused: the lease moved on.
  assert.equal(repo.completeJob(job.id, 'dead-worker', { answer: 'stale' }), false);
  const kept = repo.getJob('demo', job.id)?.result as { answer?: string } | null | undefined;
  assert.equal(kept?.answer, done.result.answer);
});
