// Faults found by the model-based property test (test/property/concurrency-model.test.ts), each reduced
// to a small example. The class: a time-driven transition (a HALF-OPEN probe's write-off at
// `halfOpenTimeout`, the end of the open period) happens lazily, when someone looks; until these fixes
// some paths acted on the breaker without looking first, so the outcome depended on whether anyone had read
// `state` in between. Every case below must come out the same whether or not anyone looked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, TimeoutError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred } from '../helpers/deferred.js';

/** failMax 1, a 1 s open period and a 1 s halfOpenTimeout, tripped and HALF-OPEN at t=1000. */
function halfOpenBreaker(extra: { timeout?: number } = {}): { b: CircuitBreaker; clock: ManualClock } {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, halfOpenTimeout: 1_000, clock, ...extra });
  b.recordFailure(new Error('down'));
  clock.advance(1_000);
  return { b, clock };
}

describe('M1: a permit that times out counts in totals.timeouts only if its outcome counts', () => {
  test('a permit admitted before reset() that times out afterwards counts nowhere', async () => {
    const b = new CircuitBreaker();
    const permit = await b.acquirePermit();
    b.reset();
    permit.timedOut(new TimeoutError(10));
    const t = b.stats().totals;
    assert.equal(t.failures, 0);
    assert.equal(t.timeouts, 0, 'timeouts counted for an outcome that counts nowhere');
  });

  test('a probe permit written off by halfOpenTimeout that then times out is one timeout', async () => {
    const { b, clock } = halfOpenBreaker();
    const probe = await b.acquirePermit();
    clock.advance(1_000);
    assert.equal(b.state, 'open', 'written off at t=2000 (and noticed)');
    probe.timedOut(new TimeoutError(1_000));
    const t = b.stats().totals;
    assert.equal(t.failures, 2, 'the trip and the write-off');
    assert.equal(t.timeouts, 1, 'the write-off only');
  });
});

describe('M2: a probe whose write-off fell due unnoticed, then timed out, is one timeout', () => {
  test('execute with timeout: the write-off is applied before the timeout is counted', async () => {
    const { b, clock } = halfOpenBreaker({ timeout: 20 });
    const probe = b.execute(() => new Promise<never>(() => {}));
    clock.advance(1_000); // the write-off falls due; nobody reads the state
    await assert.rejects(probe, TimeoutError);
    const t = b.stats().totals;
    assert.equal(t.failures, 2, 'the trip and the write-off');
    assert.equal(t.timeouts, 1, `one timeout (the write-off), got ${t.timeouts}`);
  });
});

describe('M3: manual control acts on the state `state` would read', () => {
  test('close() with a hung probe past halfOpenTimeout: the write-off counts, its late result does not', async () => {
    const outcomes: unknown[] = [];
    for (const look of [true, false]) {
      const { b, clock } = halfOpenBreaker();
      const hung = deferred<string>();
      const probe = b.execute(() => hung.promise);
      clock.advance(1_000);
      if (look) void b.state;
      b.close();
      hung.resolve('late');
      assert.equal(await probe, 'late');
      const { state, totals } = b.stats();
      outcomes.push({ state, totals });
    }
    assert.deepEqual(outcomes[1], outcomes[0], 'looking at the state first must change nothing');
    assert.deepEqual(outcomes[0], {
      state: 'closed',
      totals: { calls: 1, successes: 0, failures: 2, rejections: 0, ignored: 0, timeouts: 1, openings: 2 },
    });
  });

  test('open() after the open period has passed is a new opening, looked at or not', () => {
    const seen: number[][] = [];
    for (const look of [true, false]) {
      const clock = new ManualClock(0);
      const openings: number[] = [];
      const b = new CircuitBreaker({
        clock,
        openDuration: ({ openings: n }) => {
          openings.push(n);
          return 1_000;
        },
      });
      b.open();
      clock.advance(1_000); // HALF-OPEN is due
      if (look) void b.state;
      b.open();
      seen.push(openings);
      assert.equal(b.stats().totals.openings, 2);
    }
    assert.deepEqual(seen, [
      [1, 2],
      [1, 2],
    ]);
  });
});

describe('M4: a probe cancelled after its write-off fell due was written off', () => {
  for (const how of ['cancel()', 'excluded error'] as const) {
    test(`${how}: same state and totals whether or not anyone looked`, async () => {
      const outcomes: unknown[] = [];
      for (const look of [true, false]) {
        const clock = new ManualClock(0);
        class Excluded extends Error {}
        const b = new CircuitBreaker({
          failMax: 1,
          openDuration: 1_000,
          halfOpenTimeout: 1_000,
          clock,
          exclude: [Excluded],
        });
        b.recordFailure(new Error('down'));
        clock.advance(1_000);
        const probe = await b.acquirePermit();
        clock.advance(1_000);
        if (look) void b.state;
        if (how === 'cancel()') probe.cancel();
        else probe.failure(new Excluded('bad request'));
        const { state, totals } = b.stats();
        outcomes.push({ state, totals });
      }
      assert.deepEqual(outcomes[1], outcomes[0], 'looking at the state first must change nothing');
      assert.deepEqual(outcomes[0], {
        state: 'open',
        totals: { calls: 1, successes: 0, failures: 2, rejections: 0, ignored: 0, timeouts: 1, openings: 2 },
      });
    });
  }
});

describe('M5: a write-off noticed late is dated at its deadline', () => {
  test('lastFailureAt is the deadline, not the time someone looked', () => {
    const { b, clock } = halfOpenBreaker();
    void b.execute(() => new Promise<never>(() => {}));
    clock.advance(9_000); // written off at t=2000, noticed at t=10000
    const s = b.stats();
    assert.equal(s.lastFailureAt, 2_000);
    assert.equal(s.lastFailure?.name, 'TimeoutError');
  });

  test('a failure recorded after the deadline, before anyone looked, stays the last failure', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, halfOpenTimeout: 1_000, clock });
    const old = deferred<string>();
    const oldCall = b.execute(() => old.promise); // admitted while CLOSED
    b.recordFailure(new Error('down')); // trips: the old call is stale now
    clock.advance(1_000);
    void b.execute(() => new Promise<never>(() => {})); // the probe hangs
    clock.advance(9_000);
    old.reject(new Error('stale'));
    await assert.rejects(oldCall, /stale/);
    const s = b.stats();
    assert.deepEqual(s.lastFailure, { name: 'Error', message: 'stale' });
    assert.equal(s.lastFailureAt, 10_000);
    assert.equal(s.totals.failures, 3, 'trip, write-off, stale failure');
  });
});
