// Answers that stay right (issue 11), end to end against the real app, real SQLite files and the sim over
// HTTP: cached answers follow the user's documents, refusals are not outages, and a graceful stop hands a
// running job back at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { startSim } from '../../src/sim/server.js';
import { type ChildService, spawnService } from '../helpers/child-service.js';
import { DEMO_TOKEN, eventually, send, startService, waitForJob } from '../helpers/service.js';

const CAROL = 'tok-carol-0123456789';
const DAVE = 'tok-dave-0123456789';
const QUESTION = 'What does the Rule of Benedict say about hospitality?';
const DOCUMENT = {
  title: 'Notes on the Rule of Benedict',
  content:
    'The Rule of Benedict asks that every guest be received as Christ himself. Hospitality is not an ' +
    'interruption of the monastery but part of its prayer: the abbot pours water on the hands of guests.',
};

test('a cached answer belongs to the documents it was built from (fresh hit and stale fallback)', async (t) => {
  const svc = await startService({ env: { ASSISTANT_TOKENS: `${CAROL}:carol` } });
  t.after(() => svc.close());

  // No documents yet: the model answers without context, and that answer is cached.
  const before = await svc.query(CAROL, { query: QUESTION });
  assert.equal(before.status, 200, before.text);
  assert.deepEqual(before.json.sources, []);
  const again = await svc.query(CAROL, { query: QUESTION });
  assert.equal(again.json.metadata.cached, true, 'same documents: a fresh hit');

  const added = await svc.request('POST', '/api/documents', { token: CAROL, body: DOCUMENT });
  assert.equal(added.status, 201, added.text);

  // Within CACHE_TTL_MS, the same question is answered again, from the new document.
  const calls = await svc.simRequests();
  const after = await svc.query(CAROL, { query: QUESTION });
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.metadata.cached, false, 'the documents changed: no fresh hit');
  assert.equal(await svc.simRequests(), calls + 1);
  assert.deepEqual(
    after.json.sources.map((s: { document_id: string }) => s.document_id),
    [added.json.id],
  );

  // The documents change again and the model goes down: neither earlier answer is replayed from L1 (each
  // was built from other documents); the excerpts of the current documents answer instead.
  const second = await svc.request('POST', '/api/documents', {
    token: CAROL,
    body: { title: 'Benedict on guests', content: 'Benedict says guests are received with hospitality.' },
  });
  assert.equal(second.status, 201);
  await svc.setMode({ mode: 'error' });
  const down = await svc.query(CAROL, { query: QUESTION });
  assert.equal(down.status, 200, down.text);
  assert.equal(down.json.metadata.fallback_level, 'excerpts', down.text);
  assert.equal(down.json.sources.length, 2);
});

test('a model that refuses is not an outage: 200 refused, circuit closed, never cached', async (t) => {
  for (const provider of ['sim', 'hf-inference']) {
    await t.test(provider, async () => {
      const svc = await startService({
        env: {
          ASSISTANT_TOKENS: `${CAROL}:carol,${DAVE}:dave`,
          LLM_PROVIDER: provider,
          ...(provider === 'hf-inference' ? { LLM_MODEL: 'tripswitch-sim-1' } : {}),
        },
      });
      try {
        await svc.setMode({ mode: 'filtered' });
        // Twice BREAKER_FAIL_MAX refusals.
        for (let i = 0; i < 6; i++) {
          const reply = await svc.query(CAROL, { query: `refused question ${i}` });
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.json.metadata.refused, true);
          assert.equal(reply.json.metadata.from_fallback, false);
          assert.equal(reply.json.metadata.cached, false);
          assert.match(reply.json.answer, /declined/);
        }
        const health = await svc.llmHealth();
        assert.equal(health.state, 'closed');
        assert.equal(health.fail_count, 0);

        // Another user is served by the model, not degraded with circuit_open.
        await svc.setMode({ mode: 'healthy' });
        const dave = await svc.query(DAVE, { query: 'What is hope?' });
        assert.equal(dave.status, 200);
        assert.equal(dave.json.metadata.from_fallback, false);

        // The refusal was not cached: the same question reaches the model again, and a cache fallback
        // never replays it.
        const calls = await svc.simRequests();
        const retry = await svc.query(CAROL, { query: 'refused question 0' });
        assert.equal(retry.json.metadata.cached, false);
        assert.equal(retry.json.metadata.refused, undefined);
        assert.equal(await svc.simRequests(), calls + 1);
      } finally {
        await svc.close();
      }
    });
  }
});

test('SIGTERM while a job runs hands it back at once, no attempt spent; a restart answers it', async (t) => {
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'assistant-handback-'));
  const children: ChildService[] = [];
  t.after(async () => {
    for (const c of children) await c.stop('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const databasePath = join(dir, 'assistant.db');
  const env = {
    LLM_PROVIDER: 'sim',
    LLM_BASE_URL: sim.url,
    DATABASE_PATH: databasePath,
    // The job's call hangs far longer than the test: only the stop can end it.
    LLM_TIMEOUT_MS: '120000',
  };
  const readJob = (id: string) => {
    const db = new BetterSqlite3(databasePath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT status, attempts, lease_owner FROM jobs WHERE id = ?').get(id) as
        | { status: string; attempts: number; lease_owner: string | null }
        | undefined;
    } finally {
      db.close();
    }
  };

  const first = await spawnService(env);
  children.push(first);
  const ask = (base: string, body: unknown) =>
    send(`${base}/api/assistant/query`, 'POST', { token: DEMO_TOKEN, body });
  // Trip the circuit (3 errors), queue a job while it is open, then let the probe hang on that job.
  sim.setMode({ mode: 'error' });
  for (let i = 0; i < 3; i++) await ask(first.baseUrl, { query: `trip ${i}`, fallback: [] });
  const queued = await ask(first.baseUrl, {
    query: 'Why did the prodigal son come home?',
    fallback: ['queue'],
  });
  assert.equal(queued.status, 202, queued.text);
  const id: string = queued.json.job_id;
  sim.setMode({ mode: 'hang' });
  await eventually(
    () => (readJob(id)?.status === 'running' ? true : undefined),
    'the job to be running',
    30_000,
  );
  assert.equal(readJob(id)?.attempts, 1);

  await first.stop('SIGTERM');
  assert.equal(first.child.exitCode, 0, first.output());
  assert.deepEqual(readJob(id), { status: 'queued', attempts: 0, lease_owner: null });

  sim.setMode({ mode: 'healthy' });
  const second = await spawnService(env);
  children.push(second);
  const request = (method: string, path: string, init?: { token?: string }) =>
    send(`${second.baseUrl}${path}`, method, init);
  const job = await waitForJob({ request }, DEMO_TOKEN, id, 30_000);
  assert.equal(job.status, 'done', JSON.stringify(job));
  assert.equal(readJob(id)?.attempts, 1, 'only the answering claim counts');
});
