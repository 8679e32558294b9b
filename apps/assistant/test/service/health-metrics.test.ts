// Health, readiness, Prometheus metrics and the OpenAPI docs over real HTTP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_TOKEN, metricValue, sqliteDb, startService } from '../helpers/service.js';

test('liveness, readiness, breaker health, metrics and docs', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());

  const live = await svc.request('GET', '/health/live');
  assert.equal(live.status, 200);
  assert.equal(live.json.status, 'ok');
  const ready = await svc.request('GET', '/health/ready');
  assert.equal(ready.status, 200);
  assert.equal(ready.json.status, 'ready');

  const breakers = await svc.request('GET', '/health/circuit-breakers');
  assert.equal(breakers.status, 200);
  assert.deepEqual(Object.keys(breakers.json), ['llm']);
  const llm = breakers.json.llm;
  assert.equal(llm.state, 'closed');
  assert.equal(llm.fail_count, 0);
  assert.equal(llm.last_failure, null);
  assert.equal(llm.healthy, true);

  // One answer from the model, one from the fresh cache, one degraded: each counted by its rung.
  await svc.query(DEMO_TOKEN, { query: 'What is patience?' });
  await svc.query(DEMO_TOKEN, { query: 'What is patience?' });
  await svc.setMode({ mode: 'error' });
  const degraded = await svc.query(DEMO_TOKEN, { query: 'Why be generous?' });
  assert.equal(degraded.json.metadata.fallback_level, 'excerpts');

  const failed = await svc.llmHealth();
  assert.equal(failed.fail_count, 1);
  assert.equal(typeof failed.last_failure, 'string');
  assert.ok(!Number.isNaN(Date.parse(failed.last_failure)));

  const metrics = await svc.request('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
  const text = metrics.text;
  for (const name of [
    'circuit_breaker_state',
    'circuit_breaker_failures_total',
    'circuit_breaker_openings_total',
    'circuit_breaker_rejections_total',
    'circuit_breaker_calls_total',
    'circuit_breaker_call_duration_seconds',
    'assistant_responses_total',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  assert.equal(metricValue(text, 'circuit_breaker_state', { breaker_name: 'llm' }), 0);
  assert.equal(metricValue(text, 'circuit_breaker_failures_total', { breaker_name: 'llm' }), 1);
  assert.equal(metricValue(text, 'circuit_breaker_openings_total', { breaker_name: 'llm' }), 0);
  assert.equal(
    metricValue(text, 'circuit_breaker_calls_total', { breaker_name: 'llm', outcome: 'success' }),
    1,
  );
  assert.equal(metricValue(text, 'assistant_responses_total', { level: 'llm' }), 1);
  assert.equal(metricValue(text, 'assistant_responses_total', { level: 'fresh_cache' }), 1);
  assert.equal(
    metricValue(text, 'assistant_responses_total', { level: 'excerpts', reason: 'upstream_error' }),
    1,
  );

  const docs = await svc.request('GET', '/docs');
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
  assert.match(docs.text, /<html/i);
  const spec = await svc.request('GET', '/docs/json');
  assert.equal(spec.status, 200);
  assert.match(spec.json.openapi, /^3\./);
  for (const path of ['/api/assistant/query', '/api/assistant/jobs/{id}', '/api/documents']) {
    assert.ok(spec.json.paths[path], `OpenAPI documents ${path}`);
  }
});

test('readiness turns 503 once the database is unusable; liveness stays 200', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  assert.equal((await svc.request('GET', '/health/ready')).status, 200);

  // Stop the worker first so it does not trip over the closed connection, then close the database.
  await svc.app.queue.stop();
  sqliteDb(svc.app).close();

  const ready = await svc.request('GET', '/health/ready');
  assert.equal(ready.status, 503);
  assert.equal(ready.json.status, 'unavailable');
  assert.equal((await svc.request('GET', '/health/live')).status, 200);
});
