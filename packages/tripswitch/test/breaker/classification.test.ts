import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BulkheadRejectedError, CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

class ValidationError extends Error {}
class ServerError extends Error {}

async function throwIn(b: CircuitBreaker, err: unknown): Promise<void> {
  await assert.rejects(
    b.execute(() => Promise.reject(err)),
    (e) => e === err,
  );
}

describe('exclude', () => {
  test('an excluded class never counts as a failure', async () => {
    const b = new CircuitBreaker({ failMax: 1, exclude: [ValidationError] });
    for (let i = 0; i < 5; i++) await throwIn(b, new ValidationError('bad input'));
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
    assert.equal(b.stats().totals.ignored, 5);
    assert.equal(b.stats().totals.failures, 0);
    assert.equal(b.lastFailureAt, null);
    await throwIn(b, new ServerError('500'));
    assert.equal(b.state, 'open', 'errors outside exclude still count');
  });

  test('an excluded predicate never counts as a failure', async () => {
    const isClientError = (err: unknown) => err instanceof Error && err.message.startsWith('4');
    const b = new CircuitBreaker({ failMax: 1, exclude: [isClientError] });
    await throwIn(b, new Error('404 not found'));
    assert.equal(b.state, 'closed');
    await throwIn(b, new Error('503 unavailable'));
    assert.equal(b.state, 'open');
  });

  test('exclude also matches subclasses', async () => {
    class NotFound extends ValidationError {}
    const b = new CircuitBreaker({ failMax: 1, exclude: [ValidationError] });
    await throwIn(b, new NotFound('gone'));
    assert.equal(b.state, 'closed');
  });

  test('a throwing exclude predicate is treated as no match (the error still counts)', async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      exclude: [
        () => {
          throw new Error('predicate bug');
        },
      ],
    });
    await throwIn(b, new ServerError('boom'));
    assert.equal(b.state, 'open');
  });
});

describe('include', () => {
  test('only included errors count (class and predicate)', async () => {
    const isTimeoutLike = (err: unknown) => err instanceof Error && err.message === 'ETIMEDOUT';
    const b = new CircuitBreaker({ failMax: 2, include: [ServerError, isTimeoutLike] });
    await throwIn(b, new Error('something else'));
    await throwIn(b, new ValidationError('nope'));
    await throwIn(b, 'a string');
    assert.equal(b.failCount, 0);
    assert.equal(b.stats().totals.ignored, 3);
    await throwIn(b, new ServerError('500'));
    assert.equal(b.failCount, 1);
    await throwIn(b, new Error('ETIMEDOUT'));
    assert.equal(b.state, 'open');
  });

  test('a throwing include predicate is treated as no match (the error does not count)', async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      include: [
        () => {
          throw new Error('predicate bug');
        },
      ],
    });
    await throwIn(b, new ServerError('boom'));
    assert.equal(b.state, 'closed');
  });

  test('exclude wins over include', async () => {
    const b = new CircuitBreaker({ failMax: 1, include: [Error], exclude: [ValidationError] });
    await throwIn(b, new ValidationError('client'));
    assert.equal(b.state, 'closed');
    await throwIn(b, new Error('server'));
    assert.equal(b.state, 'open');
  });
});

describe('policy rejections never count', () => {
  test('CircuitOpenError thrown by an inner breaker does not count for the outer one', async () => {
    const outer = new CircuitBreaker({ name: 'outer', failMax: 1 });
    const inner = new CircuitBreaker({ name: 'inner', failMax: 1 });
    inner.open();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        outer.execute(() => inner.execute(() => 'x')),
        (e) => e instanceof CircuitOpenError && e.breakerName === 'inner',
      );
    }
    assert.equal(outer.state, 'closed');
    assert.equal(outer.failCount, 0);
    assert.equal(outer.stats().totals.ignored, 3);
  });

  test('BulkheadRejectedError thrown inside does not count', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    await throwIn(b, new BulkheadRejectedError(4, 0));
    await throwIn(b, new BulkheadRejectedError(4, 0));
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
  });

  test('a policy rejection during HALF-OPEN neither closes nor reopens, and frees the probe slot', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    await throwIn(b, new ServerError('down'));
    clock.advance(100);
    await throwIn(b, new BulkheadRejectedError(1, 0));
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(() => 'probe'), 'probe');
    assert.equal(b.state, 'closed');
  });
});

describe('isFailureResult', () => {
  const is5xx = (r: unknown) =>
    typeof r === 'object' && r !== null && (r as { status: number }).status >= 500;

  test('counts a resolved value as a failure but still returns it', async () => {
    const b = new CircuitBreaker({ failMax: 2, isFailureResult: is5xx });
    const response = { status: 503 };
    assert.equal(await b.execute(() => response), response);
    assert.equal(b.failCount, 1);
    assert.equal(await b.execute(() => ({ status: 200 })).then((r) => r.status), 200);
    assert.equal(b.failCount, 0, 'a good result is a success');
    await b.execute(() => response);
    await b.execute(() => response);
    assert.equal(b.state, 'open');
  });

  test('also applies on the guarded path (timeout set) and to HALF-OPEN probes', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({
      failMax: 1,
      timeout: 60_000,
      openDuration: 100,
      isFailureResult: is5xx,
      clock,
    });
    assert.deepEqual(await b.execute(() => ({ status: 500 })), { status: 500 });
    assert.equal(b.state, 'open');
    clock.advance(100);
    assert.deepEqual(await b.execute(() => ({ status: 502 })), { status: 502 });
    assert.equal(b.state, 'open', 'a failing probe result reopens');
    clock.advance(100);
    await b.execute(() => ({ status: 200 }));
    assert.equal(b.state, 'closed');
  });

  test('a throwing isFailureResult is treated as no match: the value is returned as a success', async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      isFailureResult: () => {
        throw new Error('bad predicate');
      },
    });
    assert.equal(await b.execute(() => 'value'), 'value');
    assert.equal(b.stats().totals.successes, 1);
    assert.equal(b.state, 'closed');
  });
});
