import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BreakerRegistry, CircuitBreaker } from 'tripswitch';
import { BreakerMetrics } from 'tripswitch/otel';

/** A provider whose reader keeps exports in memory; `read()` collects once and returns point values. */
function setup(temporality = AggregationTemporality.CUMULATIVE) {
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const read = async () => {
    exporter.reset();
    await reader.forceFlush();
    const points: Array<{ name: string; attributes: Record<string, unknown>; value: unknown }> = [];
    for (const rm of exporter.getMetrics()) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          for (const dp of m.dataPoints) {
            points.push({ name: m.descriptor.name, attributes: dp.attributes, value: dp.value });
          }
        }
      }
    }
    return points;
  };
  const value = (points: Awaited<ReturnType<typeof read>>, name: string, attrs: Record<string, unknown>) =>
    points.find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
      ?.value;
  return { provider, read, value, shutdown: () => provider.shutdown() };
}

describe('tripswitch/otel', () => {
  test('the same instruments as tripswitch/prometheus, with the breaker outcomes in them', async () => {
    const { provider, read, value, shutdown } = setup();
    const metrics = new BreakerMetrics({ meterProvider: provider });
    const b = new CircuitBreaker({ name: 'llm', failMax: 2, recordLatency: true });
    metrics.track(b);
    await b.execute(() => 'ok');
    await assert.rejects(b.execute(() => Promise.reject(new Error('a'))));
    await assert.rejects(b.execute(() => Promise.reject(new Error('b'))));
    await assert.rejects(b.execute(() => 'rejected'));
    const points = await read();
    const llm = { breaker_name: 'llm' };
    assert.equal(value(points, 'circuit_breaker.state', llm), 1);
    assert.equal(value(points, 'circuit_breaker.store_degraded', llm), 0);
    assert.equal(value(points, 'circuit_breaker.failures', llm), 2);
    assert.equal(value(points, 'circuit_breaker.openings', llm), 1);
    assert.equal(value(points, 'circuit_breaker.rejections', llm), 1);
    assert.equal(value(points, 'circuit_breaker.calls', { ...llm, outcome: 'success' }), 1);
    assert.equal(value(points, 'circuit_breaker.calls', { ...llm, outcome: 'failure' }), 2);
    assert.equal(value(points, 'circuit_breaker.calls', { ...llm, outcome: 'rejected' }), 1);
    assert.equal(value(points, 'circuit_breaker.state_changes', { ...llm, from: 'closed', to: 'open' }), 1);
    const hist = value(points, 'circuit_breaker.call_duration', { ...llm, outcome: 'failure' }) as {
      count: number;
    };
    assert.equal(hist.count, 2);
    await shutdown();
  });

  // The spec says an SDK SHOULD NOT export an asynchronous series that was not observed in the last
  // callback. @opentelemetry/sdk-metrics (2.12, as 3.1) follows that for delta temporality; with cumulative
  // temporality it keeps re-exporting the last value (README notes it). We stop observing; delta shows the effect.
  test('series disappear when tracking stops (stop function and registry eviction)', async () => {
    const { provider, read, shutdown } = setup(AggregationTemporality.DELTA);
    const metrics = new BreakerMetrics({ meterProvider: provider });
    const a = new CircuitBreaker({ name: 'a' });
    const stop = metrics.track(a);
    await a.execute(() => 1);
    const before = await read();
    assert.ok(before.some((p) => p.attributes.breaker_name === 'a' && p.name === 'circuit_breaker.calls'));
    stop();
    assert.equal(metrics.tracked, 0);
    const afterStop = await read();
    assert.deepEqual(
      afterStop.filter(
        (p) => p.attributes.breaker_name === 'a' && p.name !== 'circuit_breaker.call_duration',
      ),
      [],
      'no observable series left for a stopped breaker',
    );
    await a.execute(() => 1); // no longer counted anywhere
    assert.equal(metrics.tracked, 0);

    const registry = new BreakerRegistry({ maxKeyed: 1 });
    metrics.trackRegistry(registry);
    const first = registry.keyed('model', 'first');
    await first.execute(() => 1);
    assert.equal(metrics.tracked, 1);
    registry.keyed('model', 'second'); // evicts 'first'
    const afterEviction = await read();
    assert.equal(metrics.tracked, 1);
    assert.deepEqual(
      afterEviction.filter(
        (p) => p.attributes.breaker_name === first.name && p.name !== 'circuit_breaker.call_duration',
      ),
      [],
      'an evicted breaker has no series left',
    );
    assert.ok(afterEviction.some((p) => p.attributes.breaker_name === 'model:second'));
    await shutdown();
  });

  test('tracking the same name twice replaces the old breaker; bad options are TypeErrors', async () => {
    const { provider, read, value, shutdown } = setup();
    const metrics = new BreakerMetrics({ meterProvider: provider });
    const old = new CircuitBreaker({ name: 'x' });
    const fresh = new CircuitBreaker({ name: 'x' });
    metrics.track(old);
    metrics.track(fresh);
    old.open();
    await old.execute(() => 1).catch(() => {});
    const points = await read();
    assert.equal(
      value(points, 'circuit_breaker.state', { breaker_name: 'x' }),
      0,
      'the fresh breaker is closed',
    );
    assert.equal(value(points, 'circuit_breaker.rejections', { breaker_name: 'x' }), 0);
    assert.throws(() => new BreakerMetrics({ meterProvider: provider, prefix: '9bad' }), TypeError);
    assert.throws(() => new BreakerMetrics(null as never), TypeError);
    await shutdown();
  });
});
