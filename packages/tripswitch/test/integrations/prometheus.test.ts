import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { BreakerRegistry, CircuitBreaker, loggingListener } from 'tripswitch';
import { BreakerMetrics } from 'tripswitch/prometheus';
import { ManualClock } from '../../src/testing/manual-clock.js';

function value(text: string, metric: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(metric));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('BreakerMetrics exports state, failures, openings, rejections and durations with the pinned names', async () => {
  const register = new Registry();
  const metrics = new BreakerMetrics({ register });
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker({
    name: 'hf',
    failMax: 2,
    openDuration: 1000,
    clock,
    recordLatency: true,
  });
  metrics.track(breaker);

  let text = await register.metrics();
  assert.equal(value(text, 'circuit_breaker_state{breaker_name="hf"}'), 0);
  assert.equal(value(text, 'circuit_breaker_failures_total{breaker_name="hf"}'), 0);

  await breaker.execute(() => 'ok');
  for (let i = 0; i < 3; i++) await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
  text = await register.metrics();
  assert.equal(value(text, 'circuit_breaker_state{breaker_name="hf"}'), 1);
  assert.equal(value(text, 'circuit_breaker_failures_total{breaker_name="hf"}'), 2);
  assert.equal(value(text, 'circuit_breaker_openings_total{breaker_name="hf"}'), 1);
  assert.equal(value(text, 'circuit_breaker_rejections_total{breaker_name="hf"}'), 1);
  assert.equal(value(text, 'circuit_breaker_calls_total{breaker_name="hf",outcome="success"}'), 1);
  assert.equal(
    value(text, 'circuit_breaker_call_duration_seconds_count{breaker_name="hf",outcome="failure"}'),
    2,
  );

  clock.advance(1000); // scrape reads `state`, which performs the due OPEN -> HALF-OPEN move
  text = await register.metrics();
  assert.equal(value(text, 'circuit_breaker_state{breaker_name="hf"}'), 2);
});

test('loggingListener: openings at warn, recovery at info, failures at error with name, state, count and cause chain', async () => {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const log = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const breaker = new CircuitBreaker({
    name: 'llm',
    failMax: 1,
    listeners: [loggingListener({ info: log('info'), warn: log('warn'), error: log('error') })],
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  await breaker
    .execute(() => Promise.reject(new TypeError('fetch failed', { cause: refused })))
    .catch(() => {});
  const failure = lines.find((l) => l.level === 'error');
  const change = lines.find((l) => l.level === 'warn');
  assert.ok(failure, 'a failure was logged at error');
  assert.equal(failure.obj.breaker, 'llm');
  assert.deepEqual(failure.obj.error, {
    name: 'TypeError',
    message: 'fetch failed',
    cause: [{ name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' }],
  });
  assert.ok(change, 'the state change was logged at warn');
  assert.equal(change.obj.from, 'closed');
  assert.equal(change.obj.to, 'open');
  breaker.close();
  const recovery = lines.find((l) => l.obj.to === 'closed');
  assert.equal(recovery?.level, 'info', 'recovery is logged at info');
});

describe('series do not outlive their breaker (issue 12, item 8)', () => {
  async function seriesOf(register: Registry, name: string): Promise<string[]> {
    const text = await register.metrics();
    return text.split('\n').filter((l) => l.includes(`breaker_name="${name}"`));
  }

  async function exercise(breaker: CircuitBreaker): Promise<void> {
    await breaker.execute(() => 'ok');
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await breaker.execute(() => 'rejected?').catch(() => {});
  }

  test("track()'s stop function removes every label set of that breaker, and only those", async () => {
    const register = new Registry();
    const metrics = new BreakerMetrics({ register });
    const gone = new CircuitBreaker({ name: 'gone', failMax: 1, recordLatency: true });
    const kept = new CircuitBreaker({ name: 'kept', failMax: 1, recordLatency: true });
    const stop = metrics.track(gone);
    metrics.track(kept);
    await exercise(gone);
    await exercise(kept);
    assert.ok((await seriesOf(register, 'gone')).length > 5);
    const keptBefore = await seriesOf(register, 'kept');
    stop();
    assert.deepEqual(await seriesOf(register, 'gone'), []);
    assert.deepEqual(await seriesOf(register, 'kept'), keptBefore);
    stop(); // twice is harmless
    assert.equal(metrics.untrack('kept'), true);
    assert.deepEqual(await seriesOf(register, 'kept'), []);
    assert.equal(metrics.untrack('kept'), false);
  });

  test('tracking the same name again replaces the listener and keeps the counts; the old stop is inert', async () => {
    const register = new Registry();
    const metrics = new BreakerMetrics({ register });
    const first = new CircuitBreaker({ name: 'same', failMax: 5 });
    const stopFirst = metrics.track(first);
    await first.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const second = new CircuitBreaker({ name: 'same', failMax: 5 });
    metrics.track(second);
    stopFirst();
    const text = await register.metrics();
    assert.equal(value(text, 'circuit_breaker_failures_total{breaker_name="same"}'), 1);
  });

  test('trackRegistry: an evicted or deleted keyed breaker takes its series with it', async () => {
    const register = new Registry();
    const metrics = new BreakerMetrics({ register });
    const registry = new BreakerRegistry({ maxKeyed: 1, defaults: { failMax: 3 } });
    const named = registry.get('llm');
    metrics.trackRegistry(registry);
    const a = registry.keyed('model', 'a');
    await exercise(a);
    await exercise(named);
    assert.ok((await seriesOf(register, 'model:a')).length > 0);
    registry.keyed('model', 'b'); // evicts model:a (closed, least recently used)
    assert.equal(registry.has('model:a'), false);
    assert.deepEqual(await seriesOf(register, 'model:a'), []);
    assert.ok((await seriesOf(register, 'model:b')).length > 0);
    registry.delete('model:b');
    assert.deepEqual(await seriesOf(register, 'model:b'), []);
    assert.ok((await seriesOf(register, 'llm')).length > 0, 'the named breaker stays');
  });
});
