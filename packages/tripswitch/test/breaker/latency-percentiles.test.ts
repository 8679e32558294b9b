// Issue 12, item 7: percentiles from the latency histogram are within 5% of the true value (they used to
// report a ×1.5 bucket's upper bound: p50 748 and p90 1000 for latencies uniform over 1–1000 ms).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CircuitBreaker } from 'tripswitch';
import { LatencyHistogram } from '../../src/core/latency.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

/** The nearest-rank percentile: the smallest sample with at least q of the samples at or below it. */
function truePercentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function assertClose(actual: number, expected: number, what: string): void {
  const tolerance = 0.05 * expected + 0.1 + 1e-9; // 5%, or 0.1 ms for sub-0.1 ms samples
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within 5% of ${expected}`);
}

test('stats().latency for latencies uniform over 1–1000 ms: p50 ≈ 500, p90 ≈ 900, p99 ≈ 990', async () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ recordLatency: true, clock });
  const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
  // A fixed shuffle: the order of arrival must not matter.
  for (let i = samples.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [samples[i], samples[j]] = [samples[j]!, samples[i]!];
  }
  for (const ms of samples) await b.execute(() => void clock.advance(ms));
  const latency = b.stats().latency!;
  assert.equal(latency.count, 1000);
  assertClose(latency.p50, 500, 'p50');
  assertClose(latency.p90, 900, 'p90');
  assertClose(latency.p99, 990, 'p99');
  assert.equal(latency.max, 1000);
});

test('any samples up to 10 min: every percentile is within 5% of the nearest-rank value (property)', () => {
  const latency = fc.oneof(
    fc.double({ min: 0, max: 600_000, noNaN: true }),
    fc.integer({ min: 0, max: 5_000 }),
    fc.constantFrom(0, 0.05, 0.1, 1, 100, 1000, 599_999, 600_000), // bucket edges and clusters
  );
  fc.assert(
    fc.property(fc.array(latency, { minLength: 1, maxLength: 400 }), (samples) => {
      const h = new LatencyHistogram();
      for (const ms of samples) h.record(ms);
      const s = h.summary()!;
      assertClose(s.p50, truePercentile(samples, 0.5), 'p50');
      assertClose(s.p90, truePercentile(samples, 0.9), 'p90');
      assertClose(s.p99, truePercentile(samples, 0.99), 'p99');
      assert.ok(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max);
    }),
    { numRuns: 500 },
  );
});

test('a duration that is negative or NaN (a misbehaving injected clock) is recorded as 0, not lost', () => {
  const h = new LatencyHistogram();
  h.record(-5);
  h.record(Number.NaN);
  h.record(10);
  const s = h.summary()!;
  assert.equal(s.count, 3);
  assert.ok(Number.isFinite(s.mean));
  assert.ok(s.p50 <= 0.1, `p50 ${s.p50}: the two bad durations count as 0`);
});
