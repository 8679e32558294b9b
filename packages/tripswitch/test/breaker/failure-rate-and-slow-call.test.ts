import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const down = new Error('down');

async function fail(b: CircuitBreaker): Promise<void> {
  await assert.rejects(
    b.execute(() => Promise.reject(down)),
    (e) => e === down,
  );
}

function rateBreaker(clock: ManualClock, extra: { failMax?: number } = {}): CircuitBreaker {
  return new CircuitBreaker({
    failureRate: { threshold: 0.5, minimumCalls: 10, window: 10_000, buckets: 10 },
    openDuration: 1_000,
    clock,
    ...extra,
  });
}

describe('failureRate', () => {
  test('does not trip before minimumCalls, trips at the threshold once reached', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 9; i++) await fail(b);
    assert.equal(b.state, 'closed', '9 failures are below minimumCalls=10 (and failMax is not in use)');
    await fail(b);
    assert.equal(b.state, 'open');
  });

  test('a rate below the threshold does not trip; reaching it does', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 5; i++) {
      await b.execute(() => 'ok');
      clock.advance(10);
      if (i < 4) await fail(b);
    }
    // 9 calls, 4 failures; one more success: 10 calls, 40 %.
    await b.execute(() => 'ok');
    assert.equal(b.stats().window?.calls, 10);
    assert.equal(b.state, 'closed');
    await fail(b); // 5/11
    assert.equal(b.state, 'closed');
    await fail(b); // 6/12 = 50 %
    assert.equal(b.state, 'open');
  });

  test('windows forget: a burst, then a window-length idle gap, then a few failures must not trip', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 9; i++) await fail(b);
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) await fail(b);
    assert.equal(b.state, 'closed', 'failures from before the idle gap must not be counted');
    assert.equal(b.stats().window?.calls, 3);
    assert.equal(b.stats().window?.failures, 3);
  });

  test('windows forget when the failures after the gap land in a different bucket', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 9; i++) await fail(b); // bucket index 0
    clock.advance(12_500); // bucket index 2, with the burst's bucket out of the window but never reused
    for (let i = 0; i < 3; i++) await fail(b);
    assert.equal(b.state, 'closed', 'a stale bucket that was never overwritten must not be counted');
    assert.equal(b.stats().window?.calls, 3);
  });

  test('windows forget after a gap much longer than the window (bucket indices wrap around)', async () => {
    const clock = new ManualClock(123);
    const b = rateBreaker(clock);
    for (let i = 0; i < 9; i++) await fail(b);
    clock.advance(10_000 * 7 + 4_300); // several windows later, in a bucket the burst never used
    await fail(b);
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().window?.calls, 1);
  });

  test('failures spread inside one window still add up', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 5; i++) await fail(b);
    clock.advance(5_000);
    for (let i = 0; i < 4; i++) await fail(b);
    assert.equal(b.state, 'closed');
    clock.advance(4_000);
    await fail(b);
    assert.equal(b.state, 'open', '10 failures within 10 s');
  });

  test('a partially expired window counts only the recent part', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    for (let i = 0; i < 6; i++) await fail(b); // bucket 0
    clock.advance(6_000);
    for (let i = 0; i < 4; i++) await fail(b); // bucket 6: 10 failures in the window
    assert.equal(b.state, 'open');
    const b2 = rateBreaker(clock);
    for (let i = 0; i < 6; i++) await fail(b2);
    clock.advance(11_000); // the first six have left the window
    for (let i = 0; i < 4; i++) await fail(b2);
    assert.equal(b2.state, 'closed');
    assert.equal(b2.stats().window?.failures, 4);
  });

  test('with failMax also set, either rule trips', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock, { failMax: 3 });
    for (let i = 0; i < 3; i++) await fail(b);
    assert.equal(b.state, 'open');
  });

  // Origin 0 matters too: a cleared bucket must not look like part of the first window after clock time 0.
  for (const origin of [1_000_000, 0]) {
    test(`closing after a probe starts a fresh window (clock starting at ${origin})`, async () => {
      const clock = new ManualClock(origin);
      const b = rateBreaker(clock);
      for (let i = 0; i < 10; i++) await fail(b);
      assert.equal(b.state, 'open');
      clock.advance(1_000);
      await b.execute(() => 'probe');
      assert.equal(b.state, 'closed');
      assert.equal(b.stats().window?.calls, 0, 'the window must be empty after closing');
      await fail(b);
      assert.equal(b.state, 'closed', 'one failure after closing must not re-trip on pre-close evidence');
    });
  }
});

describe('slowCall', () => {
  function slowBreaker(clock: ManualClock): CircuitBreaker {
    return new CircuitBreaker({
      slowCall: { duration: 100, rateThreshold: 0.5, minimumCalls: 4, window: 10_000 },
      clock,
    });
  }
  const call = (b: CircuitBreaker, clock: ManualClock, ms: number) =>
    b.execute(() => {
      clock.advance(ms);
      return ms;
    });

  test('slow successes trip at rateThreshold once minimumCalls is reached', async () => {
    const clock = new ManualClock(0);
    const b = slowBreaker(clock);
    await call(b, clock, 5);
    await call(b, clock, 150);
    await call(b, clock, 5);
    assert.equal(b.state, 'closed', '1 slow of 3 calls: below minimumCalls');
    assert.equal(await call(b, clock, 150), 150, 'the slow call still returns its value');
    assert.equal(b.state, 'open', '2 slow of 4 calls = 50 %');
  });

  test('fast calls keep the slow rate under the threshold', async () => {
    const clock = new ManualClock(0);
    const b = slowBreaker(clock);
    // Slow calls at i = 2, 5, 8: the slow rate is at most 1/3 whenever it is checked.
    for (let i = 0; i < 10; i++) await call(b, clock, i % 3 === 2 ? 150 : 5);
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().window?.slowCalls, 3);
  });

  test('stats().window and stats().latency are filled', async () => {
    const clock = new ManualClock(1_000_000);
    const b = slowBreaker(clock);
    await call(b, clock, 10);
    await call(b, clock, 20);
    await call(b, clock, 150);
    const s = b.stats();
    assert.ok(s.window);
    assert.equal(s.window.windowMs, 10_000);
    assert.equal(s.window.calls, 3);
    assert.equal(s.window.failures, 0);
    assert.equal(s.window.slowCalls, 1);
    assert.ok(Math.abs(s.window.slowCallRate - 1 / 3) < 1e-9);
    assert.equal(s.window.failureRate, 0);
    assert.ok(s.latency);
    assert.equal(s.latency.count, 3);
    assert.equal(s.latency.max, 150);
    assert.ok(Math.abs(s.latency.mean - 60) < 1e-9);
    assert.ok(s.latency.p50 >= 10 && s.latency.p50 <= 30, `p50 ${s.latency.p50}`);
    assert.ok(s.latency.p99 >= 100 && s.latency.p99 <= 150, `p99 ${s.latency.p99}`);
    assert.ok(s.latency.p50 <= s.latency.p90 && s.latency.p90 <= s.latency.p99);
  });

  test('failureRate stats report the failure ratio', async () => {
    const clock = new ManualClock(0);
    const b = rateBreaker(clock);
    await b.execute(() => 1);
    await fail(b);
    await b.execute(() => 1);
    await b.execute(() => 1);
    const w = b.stats().window;
    assert.ok(w);
    assert.equal(w.calls, 4);
    assert.equal(w.failures, 1);
    assert.equal(w.failureRate, 0.25);
    assert.equal(b.stats().latency, null, 'no latency histogram unless asked for or slowCall is set');
  });
});

describe('clocks that start at 0 (ManualClock() default, performance.now())', () => {
  test('a call starting at clock time 0 has its latency measured', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ slowCall: { duration: 100, minimumCalls: 1, rateThreshold: 1 }, clock });
    await b.execute(() => {
      clock.advance(150);
      return 'slow';
    });
    assert.equal(b.stats().latency?.max, 150);
    assert.equal(b.state, 'open', 'one slow call of one, minimumCalls 1, rateThreshold 1');
  });
});

test('failureRate: a success that brings the window to minimumCalls can trip it (checked after every call)', async () => {
  const clock = new ManualClock(5_000);
  const b = new CircuitBreaker({ failureRate: { threshold: 0.5, minimumCalls: 4, window: 10_000 }, clock });
  const down = () => Promise.reject(new Error('down'));
  await b.execute(down).catch(() => {});
  await b.execute(down).catch(() => {});
  await b.execute(() => 'ok');
  assert.equal(b.state, 'closed', '3 calls: below minimumCalls');
  await b.execute(() => 'ok');
  assert.equal(b.state, 'open', '4 calls, 2 failures: 50% reaches the threshold');
});
