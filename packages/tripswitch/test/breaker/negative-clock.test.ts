import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

// ManualClock accepts negative times; a clock with another origin may too. The window must still count.
test('the failure-rate window counts calls at negative clock times', async () => {
  const clock = new ManualClock(-51_000);
  const b = new CircuitBreaker({ failureRate: { threshold: 0.5, minimumCalls: 3, window: 10_000 }, clock });
  for (let i = 0; i < 3; i++) await assert.rejects(b.execute(() => Promise.reject(new Error('x'))));
  assert.equal(b.stats().window?.calls, 3);
  assert.equal(b.state, 'open');
});
