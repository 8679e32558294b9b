// A HALF-OPEN probe run through `breaker.stream()` holds its slot until it ends (DESIGN 2.3), and each chunk
// it delivers is a sign of life: `halfOpenTimeout` writes a probe off after that long without one (since its
// admission for a call that is not a stream, or since its last chunk), never a healthy long stream. The
// breaker's clock is a ManualClock moved between chunks of real async generators.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred, flush } from '../helpers/deferred.js';

const HALF_OPEN_TIMEOUT = 1_000;

/** A breaker opened by hand and moved to HALF-OPEN (openDuration 1 s, halfOpenTimeout 1 s). */
function halfOpen(extra: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const b = new CircuitBreaker({
    failMax: 1,
    openDuration: 1_000,
    halfOpenTimeout: HALF_OPEN_TIMEOUT,
    clock,
    ...extra,
  });
  b.open();
  clock.advance(1_000);
  assert.equal(b.state, 'half-open');
  return { b, clock };
}

async function* chunks(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await flush();
    yield i;
  }
}

describe('a stream probe: chunks are signs of life for halfOpenTimeout', () => {
  test('a healthy probe stream twice as long as halfOpenTimeout closes the circuit', async () => {
    const { b, clock } = halfOpen();
    const seen: number[] = [];
    for await (const chunk of b.stream(() => chunks(21))) {
      seen.push(chunk);
      clock.advance(100); // 21 chunks, 100 ms apart: ~2.1 s, over twice halfOpenTimeout
      assert.notEqual(b.state, 'open', `written off after chunk ${chunk}`);
    }
    assert.equal(seen.length, 21);
    assert.equal(b.state, 'closed');
    const t = b.stats().totals;
    assert.equal(t.successes, 1);
    assert.equal(t.failures, 0);
    assert.equal(t.timeouts, 0);
    assert.equal(t.openings, 1, 'only the manual open');
  });

  test('a probe stream that stalls after some chunks is written off halfOpenTimeout after its last chunk', async () => {
    const { b, clock } = halfOpen();
    const stall = deferred();
    const it = b.stream(async function* () {
      for (let i = 0; i < 5; i++) yield i;
      await stall.promise;
      yield 99;
    });
    for (let i = 0; i < 5; i++) {
      assert.equal((await it.next()).value, i);
      clock.advance(300); // 1.5 s in all: past halfOpenTimeout since admission, never since a chunk
    }
    const pending = it.next(); // the consumer waits; the upstream is silent
    assert.equal(b.state, 'half-open', 'still alive: the last chunk came 300 ms ago');
    clock.advance(HALF_OPEN_TIMEOUT - 300 - 1);
    assert.equal(b.state, 'half-open', '1 ms before the deadline');
    clock.advance(1);
    assert.equal(b.state, 'open', 'written off halfOpenTimeout after its last chunk');
    const t = b.stats().totals;
    assert.equal(t.failures, 1);
    assert.equal(t.timeouts, 1);
    assert.equal(t.openings, 2);
    // Its late end counts nowhere.
    stall.resolve();
    assert.deepEqual(await pending, { done: false, value: 99 });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(b.stats().totals.successes, 0);
    assert.equal(b.state, 'open');
  });

  test('a stalled probe stream is still ended by its own idle streamTimeout (a failure that re-opens)', async () => {
    const { b } = halfOpen({ streamTimeout: { idle: 30 } });
    const it = b.stream(async function* () {
      yield 'a';
      await new Promise(() => {}); // hangs
    });
    assert.equal((await it.next()).value, 'a');
    await assert.rejects(it.next(), TimeoutError);
    assert.equal(b.state, 'open');
    assert.equal(b.stats().totals.timeouts, 1);
  });

  test('HALF-OPEN rejections report retryAfter from the probe stream last sign of life', async () => {
    const { b, clock } = halfOpen();
    const gate = deferred();
    const it = b.stream(async function* () {
      yield 1;
      yield 2;
      await gate.promise;
    });
    await it.next();
    clock.advance(800);
    await it.next(); // a chunk at +800 ms
    clock.advance(300);
    assert.equal(b.retryAfter, HALF_OPEN_TIMEOUT - 300);
    const rejection = await b.execute(() => 'x').catch((e: unknown) => e);
    assert.ok(rejection instanceof CircuitOpenError);
    assert.equal(rejection.retryAfter, HALF_OPEN_TIMEOUT - 300);
    gate.resolve();
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(b.state, 'closed');
  });

  test('an execute probe still gets halfOpenTimeout from its admission', async () => {
    const { b, clock } = halfOpen();
    const hung = b.execute(() => new Promise(() => {}));
    void hung;
    clock.advance(HALF_OPEN_TIMEOUT - 1);
    assert.equal(b.state, 'half-open');
    clock.advance(1);
    assert.equal(b.state, 'open');
    assert.equal(b.stats().totals.timeouts, 1);
  });
});

describe('several probes: each has its own deadline', () => {
  test('a streaming probe does not keep a hung probe alive: the hung one is written off on time', async () => {
    const { b, clock } = halfOpen({ halfOpenMaxCalls: 2, successThreshold: 2 });
    void b.execute(() => new Promise(() => {})); // hung probe, admitted now
    const gate = deferred();
    const it = b.stream(async function* () {
      for (let i = 0; ; i++) {
        if (i === 20) await gate.promise;
        yield i;
      }
    });
    let steps = 0;
    while (b.state === 'half-open' && steps < 20) {
      await it.next();
      clock.advance(100);
      steps++;
    }
    assert.equal(b.state, 'open', 'the hung probe was written off');
    assert.equal(steps, HALF_OPEN_TIMEOUT / 100, 'at halfOpenTimeout after its admission');
    assert.equal(b.stats().totals.timeouts, 1);
    gate.resolve();
    await it.return();
  });

  test('two healthy long probe streams both count and close the circuit', async () => {
    const { b, clock } = halfOpen({ halfOpenMaxCalls: 2, successThreshold: 2 });
    const one = b.stream(() => chunks(15));
    const two = b.stream(() => chunks(15));
    for (let i = 0; i < 15; i++) {
      assert.equal((await one.next()).value, i);
      assert.equal((await two.next()).value, i);
      clock.advance(100);
    }
    assert.equal(b.state, 'half-open');
    assert.deepEqual(await one.next(), { done: true, value: undefined });
    assert.deepEqual(await two.next(), { done: true, value: undefined });
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().totals.timeouts, 0);
  });

  test('a stalled probe stream is written off while the other one keeps streaming', async () => {
    const { b, clock } = halfOpen({ halfOpenMaxCalls: 2, successThreshold: 2 });
    const healthy = b.stream(() => chunks(50));
    const stalls = b.stream(async function* () {
      yield 'only';
      await new Promise(() => {});
    });
    await stalls.next();
    let steps = 0;
    while (b.state === 'half-open' && steps < 30) {
      await healthy.next();
      clock.advance(100);
      steps++;
    }
    assert.equal(b.state, 'open');
    assert.equal(steps, HALF_OPEN_TIMEOUT / 100);
    await healthy.return();
    await stalls.return();
  });
});

describe('Permit.progress()', () => {
  test('restarts a probe permit deadline; does nothing for an ordinary call or after the outcome', async () => {
    const { b, clock } = halfOpen();
    const permit = await b.acquirePermit();
    clock.advance(800);
    permit.progress();
    clock.advance(800); // 1.6 s since admission, 0.8 s since the sign of life
    assert.equal(b.state, 'half-open');
    permit.success();
    assert.equal(b.state, 'closed');
    permit.progress(); // after the outcome: nothing
    const ordinary = await b.acquirePermit();
    ordinary.progress();
    ordinary.success();
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().totals.timeouts, 0);
  });

  test('without it, a probe permit is written off halfOpenTimeout after admission', async () => {
    const { b, clock } = halfOpen();
    const permit = await b.acquirePermit();
    clock.advance(HALF_OPEN_TIMEOUT);
    assert.equal(b.state, 'open');
    permit.success(); // late: counts nowhere
    assert.equal(b.stats().totals.successes, 0);
  });
});

describe('stale generations', () => {
  test('chunks of a stream admitted in an older generation change nothing', async () => {
    const { b, clock } = halfOpen();
    const gate = deferred();
    const old = b.stream(async function* () {
      for (let i = 0; ; i++) {
        if (i > 0) await flush();
        if (i === 30) await gate.promise;
        yield i;
      }
    });
    await old.next(); // the probe of this HALF-OPEN generation
    b.open(); // a new generation: the old stream's outcome and chunks belong to the old one
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
    void b.execute(() => new Promise(() => {})); // the new generation's probe hangs
    const retryAfterBefore = (await b
      .execute(() => 'x')
      .catch((e: CircuitOpenError) => e.retryAfter)) as number;
    let steps = 0;
    while (b.state === 'half-open' && steps < 20) {
      await old.next(); // an old-generation chunk
      clock.advance(100);
      steps++;
    }
    assert.equal(steps, HALF_OPEN_TIMEOUT / 100, 'the new probe was written off on its own deadline');
    assert.equal(retryAfterBefore, HALF_OPEN_TIMEOUT);
    const t = b.stats().totals;
    assert.equal(t.timeouts, 1);
    assert.equal(t.successes, 0);
    gate.resolve();
    await old.return();
    assert.equal(b.state, 'open');
  });
});
