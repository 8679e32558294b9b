import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BreakerStateSnapshot, CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const roundTrip = (b: CircuitBreaker): BreakerStateSnapshot =>
  JSON.parse(JSON.stringify(b)) as BreakerStateSnapshot;
const fail = () => Promise.reject(new Error('upstream'));

describe('toJSON() and initialState', () => {
  test('an OPEN circuit stays open in a new instance, for the rest of its open period only', async () => {
    const clock = new ManualClock(1_000_000);
    const a = new CircuitBreaker({ name: 'llm', failMax: 2, openDuration: 10_000, clock });
    await assert.rejects(a.execute(fail));
    await assert.rejects(a.execute(fail));
    assert.equal(a.state, 'open');
    clock.advance(4_000);
    const snap = roundTrip(a);
    assert.equal(snap.version, 1);
    assert.equal(snap.state, 'open');
    assert.equal(snap.openUntil, 1_010_000);
    clock.advance(1_000); // the "restart" took a second
    let called = false;
    const b = new CircuitBreaker({
      name: 'llm',
      failMax: 2,
      openDuration: 10_000,
      clock,
      initialState: snap,
    });
    assert.equal(b.state, 'open');
    await assert.rejects(
      b.execute(() => {
        called = true;
      }),
      (e) => e instanceof CircuitOpenError && e.retryAfter === 5_000,
    );
    assert.equal(called, false, 'a new instance does not send a call to an upstream known to be down');
    assert.equal(b.stats().totals.failures, 2, 'totals carried over');
    clock.advance(5_000);
    assert.equal(b.state, 'half-open');
    await b.execute(() => 'probe');
    assert.equal(b.state, 'closed');
  });

  test('default clocks: the snapshot carries epoch times, the restored breaker measures on its monotonic clock', () => {
    const a = new CircuitBreaker({ name: 'real', openDuration: 60_000 });
    a.open();
    const snap = roundTrip(a);
    assert.ok(Math.abs(snap.takenAt - Date.now()) < 60_000, 'takenAt is epoch ms');
    assert.ok(
      snap.openUntil !== null && snap.openUntil > snap.takenAt && snap.openUntil <= snap.takenAt + 60_000,
    );
    const b = new CircuitBreaker({ name: 'real', openDuration: 60_000, initialState: snap });
    assert.equal(b.state, 'open');
    assert.ok(b.retryAfter > 0 && b.retryAfter <= 60_000);
    const again = roundTrip(b).openUntil!;
    assert.ok(
      Math.abs(again - snap.openUntil) < 50,
      'exporting again gives the same epoch open-until (to the ms)',
    );
  });

  test('an open period that ended while the process was down is HALF-OPEN on restore', () => {
    const clock = new ManualClock(0);
    const a = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    a.open();
    const snap = roundTrip(a);
    clock.advance(5_000);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock, initialState: snap });
    assert.equal(b.state, 'half-open');
  });

  test('failure streak, failWindow ages and openings (backoff) carry over', async () => {
    const clock = new ManualClock(0);
    const opts = { failMax: 3, failWindow: 10_000, clock };
    const a = new CircuitBreaker(opts);
    await assert.rejects(a.execute(fail));
    clock.advance(6_000);
    await assert.rejects(a.execute(fail));
    const snap = roundTrip(a);
    assert.deepEqual(snap.failureAges, [6_000, 0]);
    const b = new CircuitBreaker({ ...opts, initialState: snap });
    assert.equal(b.failCount, 2);
    clock.advance(5_000); // the first failure leaves failWindow
    assert.equal(b.failCount, 1);
    await assert.rejects(b.execute(fail));
    assert.equal(b.state, 'closed', 'only two failures within failWindow');
    await assert.rejects(b.execute(fail));
    assert.equal(b.state, 'open');
  });

  test('the count window and the time window carry over; a changed window configuration starts empty', async () => {
    const clock = new ManualClock(0);
    const count = {
      failureRate: { threshold: 0.5, minimumCalls: 4, windowType: 'count' as const, windowSize: 4 },
      clock,
    };
    const a = new CircuitBreaker(count);
    await a.execute(() => 1);
    await assert.rejects(a.execute(fail));
    await a.execute(() => 1);
    const snap = roundTrip(a);
    assert.deepEqual(snap.window, { type: 'count', size: 4, outcomes: [0, 1, 0] });
    const b = new CircuitBreaker({ ...count, initialState: snap });
    assert.equal(b.stats().window?.calls, 3);
    await assert.rejects(b.execute(fail));
    assert.equal(b.state, 'open', '2 failures in the last 4 calls, counting those before the restart');

    const time = { failureRate: { threshold: 0.5, minimumCalls: 2, window: 10_000 }, clock };
    const c = new CircuitBreaker(time);
    await assert.rejects(c.execute(fail));
    const tsnap = roundTrip(c);
    clock.advance(2_000);
    const d = new CircuitBreaker({ ...time, initialState: tsnap });
    assert.equal(d.stats().window?.failures, 1);
    const e = new CircuitBreaker({ ...count, initialState: tsnap });
    assert.equal(e.stats().window?.calls, 0, 'a time window does not pour into a count window');
    clock.advance(20_000);
    const f = new CircuitBreaker({ ...time, initialState: tsnap });
    assert.equal(f.stats().window?.calls, 0, 'buckets older than the window are gone');
  });

  test('isolated and half-open states restore; a half-open probe of the old process is not carried', async () => {
    const clock = new ManualClock(0);
    const a = new CircuitBreaker({ clock });
    a.isolate();
    const b = new CircuitBreaker({ clock, initialState: roundTrip(a) });
    assert.equal(b.state, 'isolated');
    const c = new CircuitBreaker({ failMax: 1, openDuration: 10, clock });
    c.open();
    clock.advance(10);
    void c.execute(() => new Promise(() => {})); // a probe in flight
    const d = new CircuitBreaker({ failMax: 1, openDuration: 10, clock, initialState: roundTrip(c) });
    assert.equal(d.state, 'half-open');
    assert.equal(await d.execute(() => 'probe'), 'probe', 'the new instance may probe at once');
  });

  test('a future version, another breaker, or nonsense values are clear errors, not a silent reset', () => {
    const clock = new ManualClock(0);
    const good = roundTrip(new CircuitBreaker({ name: 'x', clock }));
    const bad: Array<[Record<string, unknown>, RegExp, ErrorConstructor]> = [
      [{ version: 2 }, /version 2 is newer than this tripswitch reads/, RangeError],
      [{ version: 0 }, /initialState\.version must be/, RangeError],
      [{ name: 'y' }, /snapshot of breaker "y", not "x"/, RangeError],
      [{ state: 'ajar' }, /initialState\.state must be one of/, RangeError],
      [{ state: 'open', openUntil: null }, /initialState\.openUntil must be a finite epoch ms/, RangeError],
      [{ openUntil: 5 }, /openUntil must be null unless state is 'open'/, RangeError],
      [{ openings: -1 }, /initialState\.openings must be an integer >= 0/, RangeError],
      [{ consecutiveFailures: 1.5 }, /consecutiveFailures must be an integer/, RangeError],
      [{ failureAges: [1, 2] }, /failureAges\[1\] must be no older/, RangeError],
      [{ failureAges: [Number.NaN] }, /failureAges\[0\] must be a finite age/, RangeError],
      [{ totals: { ...good.totals, successes: 5 } }, /successes \+ failures <= calls/, RangeError],
      [
        { window: { type: 'count', size: 2, outcomes: [0, 7] } },
        /window\.outcomes\[1\] must be 0, 1, 2 or 3/,
        RangeError,
      ],
      [{ window: { type: 'sundial' } }, /window\.type must be 'time' or 'count'/, RangeError],
      [{ takenAt: 'yesterday' }, /takenAt must be a finite epoch ms/, RangeError],
    ];
    for (const [patch, message, type] of bad) {
      assert.throws(
        () =>
          new CircuitBreaker({
            name: 'x',
            clock,
            initialState: { ...good, ...patch } as BreakerStateSnapshot,
          }),
        (e: unknown) => e instanceof type && message.test((e as Error).message),
        JSON.stringify(patch),
      );
    }
    assert.throws(() => new CircuitBreaker({ initialState: 'open' as never }), TypeError);
    assert.throws(() => new CircuitBreaker({ initialState: null as never }), TypeError);
  });
});

describe('count-based failure-rate window in the breaker', () => {
  test('trips on the rate over the last N calls, whatever their age; same minimumCalls rule and stats', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({
      failureRate: { threshold: 0.5, minimumCalls: 4, windowType: 'count', windowSize: 4 },
      clock,
    });
    await assert.rejects(b.execute(fail));
    await assert.rejects(b.execute(fail));
    clock.advance(3_600_000); // an hour later: a time window would have forgotten them
    await b.execute(() => 1);
    assert.equal(b.state, 'closed', 'minimumCalls (4) not reached yet');
    const w = b.stats().window!;
    assert.deepEqual(
      { type: w.type, size: w.size, windowMs: w.windowMs, calls: w.calls, failures: w.failures },
      { type: 'count', size: 4, windowMs: null, calls: 3, failures: 2 },
    );
    await b.execute(() => 1);
    assert.equal(b.state, 'open', '2 of the last 4 calls failed (50%)');
  });

  test('older outcomes fall out after N newer calls', async () => {
    const b = new CircuitBreaker({
      failureRate: { threshold: 0.5, minimumCalls: 3, windowType: 'count', windowSize: 3 },
    });
    await assert.rejects(b.execute(fail));
    for (let i = 0; i < 3; i++) await b.execute(() => 1);
    assert.equal(b.stats().window?.failures, 0);
    assert.equal(b.state, 'closed');
  });

  test('windowType and windowSize are validated', () => {
    assert.throws(
      () => new CircuitBreaker({ failureRate: { threshold: 0.5, windowType: 'calls' as never } }),
      /failureRate\.windowType must be 'time' or 'count'/,
    );
    for (const windowSize of [0, 1.5, -3, Number.NaN, 2_000_000]) {
      assert.throws(
        () => new CircuitBreaker({ failureRate: { threshold: 0.5, windowType: 'count', windowSize } }),
        (e: unknown) =>
          e instanceof RangeError && /failureRate\.windowSize must be an integer/.test(e.message),
      );
    }
    assert.throws(() => new CircuitBreaker({ streamTimeout: { idle: -1 } }), /streamTimeout\.idle must be/);
    assert.throws(() => new CircuitBreaker({ streamTimeout: 5 as never }), TypeError);
  });
});
