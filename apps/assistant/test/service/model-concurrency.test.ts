// A busy service with a healthy provider must not open its circuit (DESIGN.md 3.1, 3.3): model calls beyond
// LLM_MAX_CONCURRENT wait in the bulkhead in front of the breaker, for at most LLM_QUEUE_WAIT_MS, and that
// wait is never counted as a provider timeout. Real app, real SQLite, the real sim over HTTP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { DEMO_TOKEN, startService } from '../helpers/service.js';

const QUESTIONS = [
  'What does forgiveness mean?',
  'Why did the prodigal son come home?',
  'What is mercy?',
  'How should I pray?',
  'What is grace?',
  'Who is my neighbor?',
  'What does patience look like?',
  'Why do we give thanks?',
  'What is faith?',
  'How do I forgive my brother?',
];

test('10 concurrent questions, 2 model slots, a healthy 200 ms model: every answer from the model, circuit closed', async (t) => {
  // Five rounds of 200 ms through two slots: the last questions wait ~800 ms, longer than LLM_TIMEOUT_MS.
  const svc = await startService({
    env: { LLM_MAX_CONCURRENT: '2', LLM_TIMEOUT_MS: '700', LLM_QUEUE_WAIT_MS: '20000', CACHE_TTL_MS: '0' },
  });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'slow', latency_ms: 200 });
  const replies = await Promise.all(QUESTIONS.map((query) => svc.query(DEMO_TOKEN, { query })));
  for (const reply of replies) {
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.metadata.from_fallback, false, reply.text);
  }
  const health = await svc.llmHealth();
  assert.equal(health.state, 'closed');
  assert.equal(svc.app.breaker.stats().totals.timeouts, 0);
  assert.equal(svc.app.breaker.stats().totals.failures, 0);
});

test('LLM_QUEUE_WAIT_MS: a question that gets no model slot in time is answered further down the ladder as overloaded', async (t) => {
  const svc = await startService({
    env: { LLM_MAX_CONCURRENT: '1', LLM_QUEUE_WAIT_MS: '100', CACHE_TTL_MS: '0' },
  });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'slow', latency_ms: 800 });
  const [first, second] = await Promise.all([
    svc.query(DEMO_TOKEN, { query: QUESTIONS[0] }),
    svc.query(DEMO_TOKEN, { query: QUESTIONS[1] }),
  ]);
  const levels = [first, second].map((r) => r.json.metadata.fallback_level ?? 'model').sort();
  assert.deepEqual(levels, ['excerpts', 'model'], `${first.text}\n${second.text}`);
  const degraded = [first, second].find((r) => r.json.metadata.fallback_level === 'excerpts')!;
  assert.equal(degraded.json.metadata.fallback_reason, 'overloaded');
  assert.equal(svc.app.breaker.stats().totals.failures, 0, 'a refused slot is not the provider failing');
});

test('LLM_QUEUE_WAIT_MS and LLM_MAX_CONCURRENT are validated with their names', () => {
  assert.equal(loadConfig({}).llm.queueWaitMs, 5000);
  for (const bad of ['0', '-1', 'soon', '600001']) {
    assert.throws(() => loadConfig({ LLM_QUEUE_WAIT_MS: bad }), /LLM_QUEUE_WAIT_MS/);
  }
  assert.throws(() => loadConfig({ LLM_MAX_CONCURRENT: '5000' }), /LLM_MAX_CONCURRENT/);
});
