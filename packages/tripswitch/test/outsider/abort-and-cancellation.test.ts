// Outsider probes (cockatiel #114, p-queue #168/#241 translated): a caller's abort at every await point of a
// full pipeline, and a bulkhead waiter aborted in the tick its slot is handed over. Verified correct; pinned.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { bulkhead, CircuitBreaker, CircuitOpenError, pipeline, retry, timeout } from 'tripswitch';
import { deferred, flush } from '../helpers/deferred.js';

const microtasks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await null;
};

describe('caller abort at every await point', () => {
  test('pipeline(retry, breaker, timeout, bulkhead): the caller gets its own reason, nothing counts, nothing leaks', async () => {
    for (let k = 0; k < 40; k++) {
      const breaker = new CircuitBreaker({ failMax: 1, timeout: 60_000 });
      const bh = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
      const policy = pipeline(
        retry({ maxAttempts: 3, backoff: { initial: 1 } }),
        breaker,
        timeout(60_000),
        bh,
      );
      const blocker = deferred<void>();
      const blocked = bh.execute(() => blocker.promise);
      const controller = new AbortController();
      const reason = new Error(`caller gave up at microtask ${k}`);
      const outcome = policy
        .execute(async ({ signal }) => {
          await microtasks(3);
          if (signal.aborted) throw signal.reason;
          throw new Error('upstream down');
        }, controller.signal)
        .then(
          () => 'resolved',
          (err: unknown) => err,
        );
      void microtasks(k).then(() => controller.abort(reason));
      if (k % 2 === 1) void microtasks(k + 1).then(() => blocker.resolve());
      else setImmediate(() => blocker.resolve());
      assert.equal(await outcome, reason, `k=${k}: the caller's own reason comes back`);
      await blocked;
      await flush();
      const s = breaker.stats();
      assert.equal(s.state, 'closed', `k=${k}`);
      assert.equal(s.totals.failures, 0, `k=${k}: a cancelled call is not a failure`);
      assert.equal(bh.running, 0, `k=${k}: bulkhead slot returned`);
      assert.equal(bh.queued, 0, `k=${k}: bulkhead queue empty`);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0, `k=${k}: no listener left`);
    }
  });

  test('an already-aborted signal on an OPEN breaker: the caller reason, not a counted rejection', async () => {
    const b = new CircuitBreaker();
    b.open();
    const controller = new AbortController();
    const reason = new Error('mine');
    controller.abort(reason);
    await assert.rejects(
      b.execute(() => 1, controller.signal),
      (e) => e === reason,
    );
    assert.equal(b.stats().totals.rejections, 0);
  });

  test('listeners on a long-lived caller signal do not accumulate across 100 calls of each policy', async () => {
    const controller = new AbortController();
    const b = new CircuitBreaker({ timeout: 60_000 });
    for (let i = 0; i < 100; i++) await b.execute(() => 1, controller.signal);
    const r = retry({ maxAttempts: 2, backoff: { initial: 1 } });
    for (let i = 0; i < 100; i++) {
      let n = 0;
      await r.execute(() => {
        if (n++ === 0) throw new Error('once');
        return 1;
      }, controller.signal);
    }
    const t = timeout(60_000);
    for (let i = 0; i < 100; i++) await t.execute(() => 1, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});

describe('bulkhead queue cancellation', () => {
  test('a waiter aborted in the tick its slot is handed over passes the slot on; counts return to zero', async () => {
    const bh = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const first = deferred<string>();
    const running = bh.execute(() => first.promise);
    const controller = new AbortController();
    const gone = new Error('gone');
    const second = bh
      .execute(() => 'second', controller.signal)
      .then(
        (v) => v,
        (e: unknown) => e,
      );
    const third = bh.execute(() => 'third');
    first.resolve('first');
    controller.abort(gone);
    assert.equal(await running, 'first');
    assert.equal(await second, gone);
    assert.equal(await third, 'third');
    assert.equal(bh.running, 0);
    assert.equal(bh.queued, 0);
  });

  test('a rejection by an OPEN breaker inside a bulkhead frees the slot at once', async () => {
    const b = new CircuitBreaker();
    b.open();
    const bh = bulkhead({ maxConcurrent: 1 });
    for (let i = 0; i < 10; i++) {
      await assert.rejects(
        bh.execute(() => b.execute(() => 1)),
        CircuitOpenError,
      );
    }
    assert.equal(bh.running, 0);
  });
});
