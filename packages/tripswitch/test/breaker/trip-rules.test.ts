import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CircuitBreaker,
  CircuitOpenError,
  exponentialOpenDuration,
  type OpenDurationContext,
} from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const ok = () => 'ok';

async function fail(b: CircuitBreaker, err: unknown = new Error('boom')): Promise<void> {
  await assert.rejects(
    b.execute(() => {
      throw err;
    }),
    (e) => e === err,
  );
}

async function rejection(b: CircuitBreaker): Promise<CircuitOpenError> {
  let caught: unknown;
  let called = false;
  try {
    await b.execute(() => {
      called = true;
      return 'ran';
    });
  } catch (err) {
    caught = err;
  }
  assert.equal(called, false, 'an open breaker must not call the function');
  assert.ok(caught instanceof CircuitOpenError, `expected CircuitOpenError, got ${String(caught)}`);
  return caught;
}

describe('consecutive failures (failMax)', () => {
  test('trips CLOSED -> OPEN on exactly the failMax-th consecutive failure', async () => {
    const b = new CircuitBreaker({ failMax: 3 });
    await fail(b);
    await fail(b);
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 2);
    await fail(b);
    assert.equal(b.state, 'open');
    await rejection(b);
  });

  test('default failMax is 5', async () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 4; i++) await fail(b);
    assert.equal(b.state, 'closed');
    await fail(b);
    assert.equal(b.state, 'open');
  });

  test('seed guide timeline: fail, fail, success, then five failures opens on the fifth', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 5, failWindow: 60_000, clock });
    await fail(b); // t=0
    clock.advance(5_000);
    await fail(b); // t=5
    assert.equal(b.failCount, 2);
    clock.advance(5_000);
    assert.equal(await b.execute(ok), 'ok'); // t=10: resets the counter
    assert.equal(b.failCount, 0);
    for (let i = 1; i <= 4; i++) {
      clock.advance(5_000);
      await fail(b); // t=15..30
      assert.equal(b.failCount, i);
      assert.equal(b.state, 'closed');
    }
    clock.advance(5_000);
    await fail(b); // t=35
    assert.equal(b.state, 'open');
    assert.equal(b.lastFailureAt, 35_000);
  });

  test('failWindow: failures older than the window stop counting', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 3, failWindow: 10_000, clock });
    await fail(b); // t=0
    clock.advance(5_000);
    await fail(b); // t=5000
    assert.equal(b.failCount, 2);
    clock.advance(6_000); // t=11000: the t=0 failure has left the window
    assert.equal(b.failCount, 1);
    await fail(b);
    assert.equal(b.failCount, 2);
    assert.equal(b.state, 'closed', 'a failure outside failWindow must not count toward failMax');
    clock.advance(1_000);
    await fail(b); // t=5000, 11000, 12000 all inside the window
    assert.equal(b.state, 'open');
  });

  test('failWindow: a long quiet period empties failCount without any call', async () => {
    const clock = new ManualClock(1_000);
    const b = new CircuitBreaker({ failMax: 2, failWindow: 1_000, clock });
    await fail(b);
    assert.equal(b.failCount, 1);
    clock.advance(1_001);
    assert.equal(b.failCount, 0);
    await fail(b);
    assert.equal(b.state, 'closed');
  });
});

describe('OPEN state', () => {
  test('rejects with CircuitOpenError carrying name, state and a retryAfter that shrinks with the clock', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ name: 'hf', failMax: 1, openDuration: 10_000, clock });
    await fail(b);
    clock.advance(1_000);
    const first = await rejection(b);
    assert.ok(first instanceof Error);
    assert.equal(first.name, 'CircuitOpenError');
    assert.equal(first.breakerName, 'hf');
    assert.equal(first.state, 'open');
    assert.equal(first.retryAfter, 9_000);
    clock.advance(3_000);
    const second = await rejection(b);
    assert.equal(second.retryAfter, 6_000);
    assert.equal(b.retryAfter, 6_000);
  });

  test('creating the rejection does not capture a stack (no frames beyond the first line)', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    await fail(b);
    const err = await rejection(b);
    const lines = String(err.stack).split('\n');
    assert.equal(lines.length, 1, `stack has frames: ${err.stack}`);
    assert.doesNotMatch(String(err.stack), /\n\s+at /);
    // Error.stackTraceLimit must be restored for everyone else.
    assert.ok(new Error('x').stack!.split('\n').length > 1);
  });

  test('state read after openDuration performs the lazy OPEN -> HALF-OPEN move', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    const changes: string[] = [];
    b.on('stateChange', (from, to) => changes.push(`${from}->${to}`));
    await fail(b);
    clock.advance(999);
    assert.equal(b.state, 'open');
    clock.advance(1);
    assert.deepEqual(changes, ['closed->open'], 'no transition happens until someone looks');
    assert.equal(b.state, 'half-open');
    assert.deepEqual(changes, ['closed->open', 'open->half-open']);
    assert.equal(b.retryAfter, 0);
  });

  test('a successful probe closes, a failed probe reopens for another openDuration', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    await fail(b);
    clock.advance(1_000);
    await fail(b); // the probe fails
    assert.equal(b.state, 'open');
    clock.advance(999);
    await rejection(b);
    clock.advance(1);
    assert.equal(await b.execute(ok), 'ok');
    assert.equal(b.state, 'closed');
  });

  test('openDuration as a function gets the openings count, the tripping error, and resets after CLOSED', async () => {
    const clock = new ManualClock(0);
    const seen: OpenDurationContext[] = [];
    const b = new CircuitBreaker({
      failMax: 1,
      clock,
      openDuration: (ctx) => {
        seen.push(ctx);
        return ctx.openings * 1_000;
      },
    });
    const tripping = new Error('first');
    await fail(b, tripping);
    assert.equal(seen[0]?.openings, 1);
    assert.equal(seen[0]?.error, tripping);
    clock.advance(1_000);
    await fail(b); // probe fails: second opening lasts 2000
    assert.equal(seen[1]?.openings, 2);
    clock.advance(1_999);
    assert.equal(b.state, 'open');
    clock.advance(1);
    assert.equal(b.state, 'half-open');
    await b.execute(ok);
    assert.equal(b.state, 'closed');
    await fail(b);
    assert.equal(seen[2]?.openings, 1, 'closing resets the backoff');
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
  });

  test('exponentialOpenDuration doubles per failed probe up to max', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({
      failMax: 1,
      clock,
      openDuration: exponentialOpenDuration({ initial: 1_000, max: 4_000, jitter: 0 }),
    });
    await fail(b);
    for (const expected of [1_000, 2_000, 4_000, 4_000]) {
      clock.advance(expected - 1);
      assert.equal(b.state, 'open', `still open 1 ms before ${expected}`);
      clock.advance(1);
      assert.equal(b.state, 'half-open', `half-open after ${expected}`);
      await fail(b);
    }
  });

  test('exponentialOpenDuration jitter stays within [base*(1-jitter), base]', () => {
    const low = exponentialOpenDuration({ initial: 1_000, max: 10_000, jitter: 0.5, random: () => 0 });
    const high = exponentialOpenDuration({ initial: 1_000, max: 10_000, jitter: 0.5, random: () => 0.999 });
    assert.equal(low({ openings: 2, error: undefined }), 1_000);
    const h = high({ openings: 2, error: undefined });
    assert.ok(h > 1_900 && h <= 2_000, `got ${h}`);
  });
});

describe('retryAfter hint on the tripping error', () => {
  function hinted(ms: number): Error & { retryAfter: number } {
    return Object.assign(new Error('429'), { retryAfter: ms });
  }

  test('keeps the circuit OPEN for the hinted time when longer than openDuration', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    await fail(b, hinted(5_000));
    clock.advance(1_000);
    assert.equal(b.state, 'open');
    const err = await rejection(b);
    assert.equal(err.retryAfter, 4_000);
    clock.advance(4_000);
    assert.equal(b.state, 'half-open');
  });

  test('a hint shorter than openDuration does not shorten it', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 3_000, clock });
    await fail(b, hinted(500));
    clock.advance(2_999);
    assert.equal(b.state, 'open');
    clock.advance(1);
    assert.equal(b.state, 'half-open');
  });

  test('the hint is capped by maxRetryAfter', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, maxRetryAfter: 10_000, clock });
    await fail(b, hinted(600_000));
    clock.advance(9_999);
    assert.equal(b.state, 'open');
    clock.advance(1);
    assert.equal(b.state, 'half-open');
  });

  test('the hint is ignored when maxRetryAfter is 0', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, maxRetryAfter: 0, clock });
    await fail(b, hinted(5_000));
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
  });
});
