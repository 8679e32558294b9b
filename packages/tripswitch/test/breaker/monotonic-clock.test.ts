// Issue 12, item 3: a step of the system clock (what `date -s`, NTP or a VM resume do to Date.now()) must
// change no duration. The step is simulated by offsetting Date.now(); performance.now() is left alone,
// exactly as a real step leaves the monotonic clock alone.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CircuitBreaker, RetryBudget, TimeoutError, timeout } from 'tripswitch';
import { chaos } from '../../src/testing/chaos.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const HOUR = 3_600_000;
const realNow = Date.now;
let offset = 0;
function stepSystemClock(ms: number): void {
  offset += ms;
  Date.now = () => realNow() + offset;
}
afterEach(() => {
  offset = 0;
  Date.now = realNow;
});

/** Polls `condition` every 10 ms; fails after a generous 15 s (a loaded machine is slow, never this slow). */
async function eventually(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await delay(10);
  }
}

const down = () => Promise.reject(new Error('down'));

describe('default clock: durations are monotonic', () => {
  test('a backward step does not stretch the open period', async () => {
    const b = new CircuitBreaker({ failMax: 1, openDuration: 200 });
    await assert.rejects(b.execute(down));
    assert.equal(b.state, 'open');
    stepSystemClock(-HOUR);
    assert.ok(b.retryAfter <= 200, `retryAfter ${b.retryAfter} ms, not an hour`);
    await eventually('HALF-OPEN after openDuration', () => b.state === 'half-open');
  });

  test('a forward step does not shorten the open period', async () => {
    const b = new CircuitBreaker({ failMax: 1, openDuration: 60_000 });
    await assert.rejects(b.execute(down));
    stepSystemClock(HOUR);
    assert.equal(b.state, 'open');
    assert.ok(b.retryAfter > 50_000);
  });

  test('a backward step does not let a hung probe hold HALF-OPEN (halfOpenTimeout)', async () => {
    const b = new CircuitBreaker({ failMax: 1, openDuration: 20, halfOpenTimeout: 200 });
    await assert.rejects(b.execute(down));
    await eventually('HALF-OPEN', () => b.state === 'half-open');
    void b.execute(() => new Promise(() => {})); // the probe never settles
    stepSystemClock(-HOUR);
    await eventually('the hung probe written off', () => b.stats().totals.timeouts === 1);
  });

  test('a forward step does not push recent failures out of failWindow', async () => {
    const b = new CircuitBreaker({ failMax: 2, failWindow: 60_000 });
    await assert.rejects(b.execute(down));
    stepSystemClock(HOUR);
    assert.equal(b.failCount, 1);
    await assert.rejects(b.execute(down));
    assert.equal(b.state, 'open');
  });

  test('a forward step does not empty the failure-rate window', async () => {
    const b = new CircuitBreaker({ failureRate: { threshold: 0.5, minimumCalls: 2, window: 60_000 } });
    await assert.rejects(b.execute(down));
    stepSystemClock(HOUR);
    assert.equal(b.stats().window?.calls, 1);
    await assert.rejects(b.execute(down));
    assert.equal(b.state, 'open');
  });

  test('a forward step does not refill the retry budget; a backward one does not freeze it', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, window: 1_000 }); // one retry per second
    assert.equal(budget.tryAcquire(), true);
    assert.equal(budget.tryAcquire(), false);
    stepSystemClock(HOUR);
    assert.equal(budget.tryAcquire(), false, 'still spent: only the monotonic second counts');
    stepSystemClock(-2 * HOUR);
    await eventually('the budget refilled after its window', () => budget.tryAcquire());
  });

  test('a chaos outage window keeps its length across a step', async () => {
    const now = Date.now();
    const policy = chaos({ outages: [{ start: now - 1_000, end: now + 60_000 }] });
    assert.equal(policy.inOutage(), true);
    stepSystemClock(-HOUR);
    assert.equal(policy.inOutage(), true);
    stepSystemClock(2 * HOUR);
    assert.equal(policy.inOutage(), true);
  });

  test('timeouts (policy and breaker) run on monotonic timers', async () => {
    stepSystemClock(-HOUR);
    await assert.rejects(
      timeout(50).execute(() => new Promise(() => {})),
      TimeoutError,
    );
    const b = new CircuitBreaker({ timeout: 50 });
    await assert.rejects(
      b.execute(() => new Promise(() => {})),
      TimeoutError,
    );
  });
});

describe('reported timestamps stay epoch ms (wall clock)', () => {
  test('lastFailureAt and stats().openUntil follow Date.now(), including after a step', async () => {
    const b = new CircuitBreaker({ failMax: 1, openDuration: 60_000 });
    stepSystemClock(-HOUR);
    const before = Date.now();
    await assert.rejects(b.execute(down));
    const after = Date.now();
    const at = b.lastFailureAt!;
    assert.ok(at >= before && at <= after, `lastFailureAt ${at} within [${before}, ${after}]`);
    const openUntil = b.stats().openUntil!;
    assert.ok(
      openUntil >= before + 59_000 && openUntil <= Date.now() + 60_000,
      `openUntil ${openUntil} is about Date.now() + 60 s`,
    );
  });

  test('an injected clock still drives everything, timestamps included', async () => {
    const clock = new ManualClock(5_000);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    stepSystemClock(HOUR);
    await assert.rejects(b.execute(down));
    assert.equal(b.lastFailureAt, 5_000);
    assert.equal(b.stats().openUntil, 6_000);
    clock.advance(999);
    assert.equal(b.state, 'open');
    clock.advance(1);
    assert.equal(b.state, 'half-open');
  });
});
