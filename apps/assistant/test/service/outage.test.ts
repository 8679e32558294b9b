// The seed scenario: the provider hangs, the circuit opens after failMax timeouts, everyone else gets a
// degraded answer without touching the provider, and one probe closes the circuit once it is back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_TOKEN, type HttpReply, metricValue, startService } from '../helpers/service.js';

const FAIL_MAX = 3;
const OPEN_MS = 1000;
const USERS = 20;

/** Questions on the sample sermons, each different so no cache answers them. */
const TOPICS = ['forgiveness', 'patience', 'hope', 'generosity', 'gratitude', 'prayer', 'rest', 'neighbor'];
const question = (i: number) => `What do the sermons say about ${TOPICS[i % TOPICS.length]}? (#${i})`;

test('hanging provider: trip after failMax timeouts, fast degraded answers, one probe recovers', async (t) => {
  const svc = await startService({
    env: { BREAKER_FAIL_MAX: String(FAIL_MAX), BREAKER_OPEN_MS: String(OPEN_MS), LLM_TIMEOUT_MS: '1000' },
  });
  t.after(() => svc.close());

  // Warm-up: the provider answers and the circuit is closed.
  for (let i = 0; i < 3; i++) {
    const warm = await svc.query(DEMO_TOKEN, { query: `warm-up question about hope ${i}` });
    assert.equal(warm.status, 200, warm.text);
    assert.equal(warm.json.metadata.from_fallback, false);
  }
  assert.equal((await svc.llmHealth()).state, 'closed');

  await svc.setMode({ mode: 'hang' });
  const before = await svc.simRequests();

  // The first failMax users each wait for the call timeout and get excerpts.
  const first = await Promise.all(
    Array.from({ length: FAIL_MAX }, (_, i) => svc.query(DEMO_TOKEN, { query: question(i) })),
  );
  for (const r of first) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.metadata.from_fallback, true);
    assert.equal(r.json.metadata.fallback_reason, 'timeout');
    assert.equal(r.json.metadata.fallback_level, 'excerpts');
  }

  // The circuit is open: health and metrics say so.
  const open = await svc.llmHealth();
  assert.equal(open.state, 'open');
  assert.equal(open.healthy, false);
  assert.equal(open.fail_count, FAIL_MAX);
  assert.ok(open.retry_after_ms > 0 && open.retry_after_ms <= OPEN_MS, JSON.stringify(open));
  const metrics = await svc.metricsText();
  assert.equal(metricValue(metrics, 'circuit_breaker_state', { breaker_name: 'llm' }), 1);
  assert.ok((metricValue(metrics, 'circuit_breaker_openings_total', { breaker_name: 'llm' }) ?? 0) >= 1);
  assert.ok(
    (metricValue(metrics, 'circuit_breaker_failures_total', { breaker_name: 'llm' }) ?? 0) >= FAIL_MAX,
  );

  // Everyone else: answered by the open circuit (reason circuit_open: no wait for the provider), degraded,
  // without a provider call. Counts, not timings, prove they did not wait.
  const rest = await Promise.all(
    Array.from({ length: USERS - FAIL_MAX }, (_, i) =>
      svc.query(DEMO_TOKEN, { query: question(FAIL_MAX + i) }),
    ),
  );
  let rejectedFast = 0;
  for (const r of rest) {
    assert.ok(r.status === 200 || r.status === 503, r.text);
    assert.equal(r.json.metadata.from_fallback, true);
    if (r.json.metadata.fallback_reason === 'circuit_open') rejectedFast++;
  }
  // At most one request can have raced a probe if the machine stalled past the open duration.
  assert.ok(rejectedFast >= USERS - FAIL_MAX - 1, `only ${rejectedFast} answered by the open circuit`);
  const upstream = (await svc.simRequests()) - before;
  assert.ok(upstream >= FAIL_MAX && upstream <= FAIL_MAX + 1, `provider saw ${upstream} calls`);

  const rejections = metricValue(await svc.metricsText(), 'circuit_breaker_rejections_total', {
    breaker_name: 'llm',
  });
  assert.ok((rejections ?? 0) >= rejectedFast, `rejections_total ${rejections}`);

  // The provider is back: after the open duration one call probes and closes the circuit.
  await svc.setMode({ mode: 'healthy' });
  await sleep(OPEN_MS + 50);
  const probeBefore = await svc.simRequests();
  const probe = await svc.query(DEMO_TOKEN, { query: 'Tell me about the prodigal son' });
  assert.equal(probe.status, 200, probe.text);
  assert.deepEqual(probe.json.metadata, { from_fallback: false, cached: false });
  assert.equal((await svc.simRequests()) - probeBefore, 1);
  const closed = await svc.llmHealth();
  assert.equal(closed.state, 'closed');
  assert.equal(closed.healthy, true);
  assert.equal(closed.fail_count, 0);
  assert.equal(metricValue(await svc.metricsText(), 'circuit_breaker_state', { breaker_name: 'llm' }), 0);
});

test('a 429 with a long Retry-After keeps the circuit open past the open duration', async (t) => {
  const openMs = 800;
  const svc = await startService({ env: { BREAKER_FAIL_MAX: '3', BREAKER_OPEN_MS: String(openMs) } });
  t.after(() => svc.close());

  await svc.setMode({ mode: 'ratelimit', retry_after_s: 30 });
  const replies: HttpReply[] = [];
  for (let i = 0; i < 3; i++) replies.push(await svc.query(DEMO_TOKEN, { query: question(i) }));
  for (const r of replies) assert.equal(r.json.metadata.fallback_reason, 'rate_limited', r.text);

  const health = await svc.llmHealth();
  assert.equal(health.state, 'open');
  assert.ok(health.retry_after_ms > openMs * 5, `retry_after_ms ${health.retry_after_ms}`);
  assert.ok(health.retry_after_ms <= 30_000, `retry_after_ms ${health.retry_after_ms}`);

  // Past the configured open duration the provider still gets no call: the hint wins.
  await sleep(openMs + 200);
  const calls = await svc.simRequests();
  const later = await svc.query(DEMO_TOKEN, { query: question(5) });
  assert.equal(later.json.metadata.fallback_reason, 'circuit_open', later.text);
  assert.equal(await svc.simRequests(), calls);
  assert.equal((await svc.llmHealth()).state, 'open');

  // A 503 while the circuit holds says when to come back, in whole seconds of the hint.
  const refused = await svc.query(DEMO_TOKEN, { query: question(6), fallback: [] });
  assert.equal(refused.status, 503);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter > Math.ceil(openMs / 1000) && retryAfter <= 30, `Retry-After ${retryAfter}`);
});
