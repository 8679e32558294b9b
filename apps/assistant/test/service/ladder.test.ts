// The degradation ladder end to end (DESIGN.md 3.2): real app, real SQLite, the sim over HTTP in each
// fault mode, driven with fetch.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SimMode } from '../../src/sim/modes.js';
import { DEMO_TOKEN, type Json, type Service, startService, waitForJob } from '../helpers/service.js';

/** Questions the bundled sermons answer (bm25 finds passages for them). */
const ANSWERED = 'What does forgiveness mean?';
const NEW_ON_CORPUS = 'How can I practice gratitude every day?';
const TO_QUEUE = 'What does the Sabbath teach about rest?';
/** Matches nothing in the corpus. */
const NO_MATCH = 'xyzzy plugh qwfp';

function assertSources(sources: Json): void {
  assert.ok(Array.isArray(sources) && sources.length > 0, 'expected at least one source');
  for (const s of sources) {
    assert.equal(typeof s.document_id, 'string');
    assert.ok(s.title.length > 0);
    assert.ok(s.excerpt.length > 0);
    assert.equal(typeof s.score, 'number');
  }
}

test('healthy: the model answers; a repeat is a fresh L1 hit that makes no upstream call', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());

  const first = await svc.query(DEMO_TOKEN, { query: ANSWERED });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json.metadata, { from_fallback: false, cached: false });
  assert.ok(first.json.answer.length > 0);
  assertSources(first.json.sources);
  const calls = await svc.simRequests();
  assert.equal(calls, 1);

  // Case, punctuation and spacing do not make a different question.
  for (const q of [ANSWERED, '  what DOES forgiveness mean ']) {
    const again = await svc.query(DEMO_TOKEN, { query: q });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json.metadata, { from_fallback: false, cached: true });
    assert.equal(again.json.answer, first.json.answer);
    assert.deepEqual(again.json.sources, first.json.sources);
  }
  assert.equal(await svc.simRequests(), calls, 'a fresh cache hit must not reach the model');

  // include_metadata adds the model and the breaker's state.
  const detailed = await svc.query(DEMO_TOKEN, { query: 'Why give generously?', include_metadata: true });
  assert.equal(detailed.status, 200);
  const m = detailed.json.metadata;
  assert.equal(m.from_fallback, false);
  assert.equal(m.cached, false);
  assert.equal(m.breaker.name, 'llm');
  assert.equal(m.breaker.state, 'closed');
  assert.equal(typeof m.model, 'string');
  assert.equal(typeof m.latency_ms, 'number');
});

const FAULTS: Array<{ mode: SimMode; reason: string }> = [
  { mode: 'error', reason: 'upstream_error' },
  { mode: 'hang', reason: 'timeout' },
  { mode: 'refuse', reason: 'upstream_unreachable' },
  { mode: 'loading', reason: 'model_loading' },
  { mode: 'ratelimit', reason: 'rate_limited' },
];

// Each mode gets its own service; a high trip threshold keeps the circuit closed, so every rung answers
// for the upstream failure itself (the open-circuit path is covered in outage.test.ts). A zero fresh TTL
// makes answered questions stale, so they go to the model first and fall back to the last good answer.
// Services start one after another (concurrent start-ups stall the event loop enough for the service's
// load shedding to answer 503), then the modes play out concurrently: each waits ~2 s for the worker's
// retry backoff before its queued job completes.
describe('upstream failing: every rung of the ladder', { concurrency: true }, () => {
  const services = new Map<SimMode, Service>();
  before(async () => {
    for (const { mode } of FAULTS) {
      const env = {
        BREAKER_FAIL_MAX: '100',
        CACHE_TTL_MS: '0',
        LLM_TIMEOUT_MS: mode === 'hang' ? '1000' : '2000',
      };
      services.set(mode, await startService({ env }));
    }
  });
  after(async () => {
    for (const svc of services.values()) await svc.close();
  });

  for (const { mode, reason } of FAULTS) {
    test(`${mode} → l1_cache, excerpts, queued job, 503 (reason ${reason})`, async () => {
      const svc = services.get(mode)!;

      const good = await svc.query(DEMO_TOKEN, { query: ANSWERED });
      assert.equal(good.status, 200, good.text);
      assert.equal(good.json.metadata.from_fallback, false);

      // Retry-After hints above the gateway's retry ceiling (2 s): one attempt per query.
      await svc.setMode({ mode, retry_after_s: 30 });
      const before = await svc.simRequests();

      // The degraded questions run concurrently (a hanging provider costs one timeout, not six).
      const [cached, excerpts, cacheOnly, queued, none, nothing] = await Promise.all([
        svc.query(DEMO_TOKEN, { query: ANSWERED }),
        svc.query(DEMO_TOKEN, { query: NEW_ON_CORPUS }),
        svc.query(DEMO_TOKEN, { query: NEW_ON_CORPUS, fallback: ['cache'] }),
        svc.query(DEMO_TOKEN, { query: TO_QUEUE, fallback: ['queue'] }),
        svc.query(DEMO_TOKEN, { query: ANSWERED, fallback: [] }),
        svc.query(DEMO_TOKEN, { query: NO_MATCH }),
      ]);

      // 3. The last good answer for this user and question.
      assert.equal(cached.status, 200, cached.text);
      assert.deepEqual(cached.json.metadata, {
        from_fallback: true,
        cached: true,
        fallback_reason: reason,
        fallback_level: 'l1_cache',
      });
      assert.equal(cached.json.answer, good.json.answer);

      // 4. A new question: excerpts from the user's documents.
      assert.equal(excerpts.status, 200, excerpts.text);
      assert.deepEqual(excerpts.json.metadata, {
        from_fallback: true,
        cached: false,
        fallback_reason: reason,
        fallback_level: 'excerpts',
      });
      assertSources(excerpts.json.sources);
      assert.match(excerpts.json.answer, /gratitude/i);

      // Only the cache allowed and nothing cached: excerpts are not used.
      assert.equal(cacheOnly.status, 503, cacheOnly.text);

      // 5. Queue when asked.
      assert.equal(queued.status, 202, queued.text);
      const jobId = queued.json.job_id;
      assert.equal(typeof jobId, 'string');
      assert.equal(queued.json.metadata.job_id, jobId);
      assert.equal(queued.json.metadata.fallback_level, 'queued');
      assert.equal(queued.json.metadata.from_fallback, true);
      assert.ok(queued.json.answer.includes(jobId));
      const pending = await svc.request('GET', `/api/assistant/jobs/${jobId}`, { token: DEMO_TOKEN });
      assert.equal(pending.status, 200);
      assert.ok(['queued', 'running'].includes(pending.json.status), pending.text);
      assert.equal(pending.json.result, undefined);

      // 6. No fallback allowed, even though a cached answer exists: 503 with Retry-After.
      assert.equal(none.status, 503, none.text);
      assert.match(none.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal(none.json.metadata.from_fallback, true);
      assert.equal(none.json.metadata.fallback_reason, reason);

      // Default strategy, nothing relevant in the documents, nothing cached: 503 too.
      assert.equal(nothing.status, 503, nothing.text);
      assert.match(nothing.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

      // Every degraded query went to the model first (closed circuit); the worker may have tried the job too.
      assert.ok((await svc.simRequests()) - before >= 6);

      // The provider heals: the worker answers the queued question from the model.
      await svc.setMode({ mode: 'healthy' });
      const done = await waitForJob(svc, DEMO_TOKEN, jobId);
      assert.equal(done.status, 'done', JSON.stringify(done));
      assert.ok(done.result.answer.length > 0);
      assert.equal(done.result.metadata.from_fallback, false);
      assertSources(done.result.sources);
    });
  }
});

test('a user with no documents and nothing cached gets 503 with Retry-After, also once the circuit opens', async (t) => {
  const svc = await startService({ env: { ASSISTANT_TOKENS: 'tok-n:nobody' } });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'error' });

  const reasons: string[] = [];
  for (let i = 0; i < 5; i++) {
    const reply = await svc.query('tok-n', { query: `${NEW_ON_CORPUS} ${i}` });
    assert.equal(reply.status, 503, reply.text);
    assert.match(reply.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(reply.json.error, 'service_unavailable');
    reasons.push(reply.json.metadata.fallback_reason);
  }
  // failMax = 3: three upstream errors, then the open circuit answers.
  assert.deepEqual(reasons, [
    'upstream_error',
    'upstream_error',
    'upstream_error',
    'circuit_open',
    'circuit_open',
  ]);
  assert.equal(await svc.simRequests(), 3);
});

test('an unknown fallback level is a 400 and calls nothing', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  const reply = await svc.query(DEMO_TOKEN, { query: ANSWERED, fallback: ['cache', 'carrier-pigeon'] });
  assert.equal(reply.status, 400);
  assert.equal(reply.json.error, 'Bad Request');
  assert.match(reply.json.message, /fallback/);
  assert.equal(await svc.simRequests(), 0);
});
