import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const down = new Error('down');
const failing = () => Promise.reject(down);

describe('manual control', () => {
  test('open() rejects calls for one openDuration, then probes as usual', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ openDuration: 1_000, clock });
    b.open();
    assert.equal(b.state, 'open');
    await assert.rejects(
      b.execute(() => 1),
      (e) => e instanceof CircuitOpenError && e.state === 'open' && e.retryAfter === 1_000,
    );
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(() => 'probe'), 'probe');
    assert.equal(b.state, 'closed');
  });

  test('close() forces CLOSED and clears the streak', async () => {
    const b = new CircuitBreaker({ failMax: 2 });
    await assert.rejects(b.execute(failing));
    await assert.rejects(b.execute(failing));
    assert.equal(b.state, 'open');
    b.close();
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
    assert.equal(await b.execute(() => 'through'), 'through');
    await assert.rejects(b.execute(failing));
    assert.equal(b.state, 'closed', 'the streak restarted from zero');
  });

  test("isolate() rejects with state 'isolated' and retryAfter Infinity, and never probes", async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ openDuration: 1_000, halfOpenTimeout: 1_000, clock });
    b.isolate();
    clock.advance(1_000_000_000);
    assert.equal(b.state, 'isolated');
    let called = false;
    await assert.rejects(
      b.execute(() => {
        called = true;
      }),
      (e) =>
        e instanceof CircuitOpenError && e.state === 'isolated' && e.retryAfter === Number.POSITIVE_INFINITY,
    );
    assert.equal(called, false);
    assert.equal(b.retryAfter, Number.POSITIVE_INFINITY);
    await assert.rejects(b.acquirePermit(), CircuitOpenError);
    b.close();
    assert.equal(await b.execute(() => 'back'), 'back');
  });

  test('reset() returns to a new breaker: CLOSED, counts and totals cleared', async () => {
    const clock = new ManualClock(5);
    const b = new CircuitBreaker({ failMax: 2, clock });
    await b.execute(() => 1);
    await assert.rejects(b.execute(failing));
    await assert.rejects(b.execute(failing));
    await assert.rejects(b.execute(() => 1));
    assert.equal(b.state, 'open');
    b.reset();
    const s = b.stats();
    assert.equal(s.state, 'closed');
    assert.equal(s.failCount, 0);
    assert.equal(s.lastFailureAt, null);
    assert.equal(s.lastFailure, null);
    assert.deepEqual(s.totals, {
      calls: 0,
      successes: 0,
      failures: 0,
      rejections: 0,
      ignored: 0,
      timeouts: 0,
      openings: 0,
    });
    assert.equal(b.lastFailureAt, null);
  });

  test('disable() lets every call through and records nothing; close() resumes protection', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    b.open();
    b.disable();
    assert.equal(b.state, 'disabled');
    const before = b.stats().totals;
    for (let i = 0; i < 5; i++) await assert.rejects(b.execute(failing), (e) => e === down);
    assert.equal(await b.execute(() => 'passes'), 'passes');
    assert.equal(b.state, 'disabled');
    assert.equal(b.failCount, 0);
    assert.deepEqual(b.stats().totals, before);
    b.recordFailure(down);
    assert.equal(b.state, 'disabled');
    b.close();
    await assert.rejects(b.execute(failing));
    assert.equal(b.state, 'open');
  });

  test('the disabled option starts the breaker disabled', async () => {
    const b = new CircuitBreaker({ failMax: 1, disabled: true });
    assert.equal(b.state, 'disabled');
    await assert.rejects(b.execute(failing));
    await assert.rejects(b.execute(failing));
    assert.equal(b.state, 'disabled');
    assert.equal(b.stats().totals.failures, 0);
  });
});

describe('recordSuccess / recordFailure (pybreaker call_succeeded / call_failed)', () => {
  test('recordFailure trips like failing calls, recordSuccess resets the streak', () => {
    const b = new CircuitBreaker({ failMax: 3 });
    b.recordFailure(down);
    b.recordFailure(down);
    assert.equal(b.failCount, 2);
    b.recordSuccess();
    assert.equal(b.failCount, 0);
    b.recordFailure(down);
    b.recordFailure(down);
    assert.equal(b.state, 'closed');
    b.recordFailure(down);
    assert.equal(b.state, 'open');
    assert.equal(b.stats().lastFailure?.message, 'down');
  });

  test('in HALF-OPEN, recordSuccess closes and recordFailure reopens', () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    b.recordFailure();
    assert.equal(b.state, 'open');
    clock.advance(100);
    b.recordFailure(down);
    assert.equal(b.state, 'open');
    clock.advance(100);
    b.recordSuccess();
    assert.equal(b.state, 'closed');
  });

  test('recordSuccess while OPEN (before openDuration) does not close', () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    b.recordFailure(down);
    b.recordSuccess();
    assert.equal(b.state, 'open');
  });
});

describe('acquirePermit', () => {
  test('respects the HALF-OPEN limit; cancel() frees the slot; success() closes', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    b.recordFailure(down);
    await assert.rejects(b.acquirePermit(), (e) => e instanceof CircuitOpenError && e.state === 'open');
    clock.advance(100);
    const p1 = await b.acquirePermit();
    await assert.rejects(b.acquirePermit(), (e) => e instanceof CircuitOpenError && e.state === 'half-open');
    p1.cancel();
    assert.equal(b.state, 'half-open');
    const p2 = await b.acquirePermit();
    p2.success();
    assert.equal(b.state, 'closed');
  });

  test('a permit reports only its first outcome', async () => {
    const b = new CircuitBreaker({ failMax: 2 });
    const p = await b.acquirePermit();
    p.failure(down);
    p.failure(down);
    p.success();
    p.cancel();
    assert.equal(b.failCount, 1);
    assert.equal(b.state, 'closed', 'a repeated failure() must not count twice');
    const t = b.stats().totals;
    assert.equal(t.failures, 1);
    assert.equal(t.successes, 0);
    assert.equal(t.ignored, 0);
    assert.equal(t.calls, 1);
  });

  test('a failing probe permit reopens the circuit', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    b.recordFailure(down);
    clock.advance(100);
    const p = await b.acquirePermit();
    p.failure(down);
    assert.equal(b.state, 'open');
  });
});

describe('tryExecute', () => {
  test('returns { ok: false, error: CircuitOpenError } when open, without throwing or calling fn', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    b.open();
    let called = false;
    const r = await b.tryExecute(() => {
      called = true;
      return 1;
    });
    assert.equal(called, false);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof CircuitOpenError);
    assert.equal(b.stats().totals.rejections, 1);
  });

  test('returns { ok: true, value } on success and { ok: false, error } on failure', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    assert.deepEqual(await b.tryExecute(() => 42), { ok: true, value: 42 });
    assert.deepEqual(await b.tryExecute(failing), { ok: false, error: down });
    assert.equal(b.state, 'open');
  });

  test('in HALF-OPEN it runs exactly one probe', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    b.recordFailure(down);
    clock.advance(100);
    let release!: (v: string) => void;
    const gate = new Promise<string>((r) => {
      release = r;
    });
    let runs = 0;
    const a = b.tryExecute(() => {
      runs++;
      return gate;
    });
    const second = await b.tryExecute(() => {
      runs++;
      return 'no';
    });
    assert.equal(second.ok, false);
    assert.ok(!second.ok && second.error instanceof CircuitOpenError);
    release('yes');
    assert.deepEqual(await a, { ok: true, value: 'yes' });
    assert.equal(runs, 1);
    assert.equal(b.state, 'closed');
  });
});

describe('protect', () => {
  test('keeps the arguments and the result, and counts failures', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const join = b.protect((a: number, s: string) => `${s}:${a}`);
    assert.equal(await join(7, 'x'), 'x:7');
    const asyncFn = b.protect(async (xs: number[]) => xs.reduce((p, q) => p + q, 0));
    assert.equal(await asyncFn([1, 2, 3]), 6);
    const broken = b.protect((_n: number): number => {
      throw down;
    });
    await assert.rejects(broken(1), (e) => e === down);
    assert.equal(b.state, 'open');
    await assert.rejects(join(1, 'y'), CircuitOpenError);
  });
});
