import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { BulkheadRejectedError } from '../../src/core/errors.js';
import { bulkhead } from '../../src/policies/index.js';
import { deferred, flush } from '../helpers/deferred.js';

const tick = flush;

describe('bulkhead policy', () => {
  test('runs up to maxConcurrent, queues up to maxQueue, rejects beyond at once', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    const started: number[] = [];
    const calls = gates.map((gate, i) =>
      policy.execute(() => {
        started.push(i);
        return gate.promise;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(policy.running, 2);
    assert.equal(policy.queued, 1);

    let ran = false;
    await assert.rejects(
      policy.execute(() => {
        ran = true;
      }),
      (err) => err instanceof BulkheadRejectedError && err.maxConcurrent === 2 && err.maxQueue === 1,
    );
    assert.equal(ran, false);

    gates[0]!.resolve('a');
    assert.equal(await calls[0], 'a');
    await tick();
    assert.deepEqual(started, [0, 1, 2], 'the queued call takes the freed slot');
    assert.equal(policy.running, 2);
    assert.equal(policy.queued, 0);
    gates[1]!.reject(new Error('b failed'));
    await assert.rejects(calls[1]!, /b failed/);
    gates[2]!.resolve('c');
    assert.equal(await calls[2], 'c');
    assert.equal(policy.running, 0, 'failures release their slot too');
  });

  test('the queue is FIFO and a freed slot cannot be taken by a newcomer', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 10 });
    const order: string[] = [];
    const first = deferred();
    const running = policy.execute(() => first.promise);
    const queued = ['q1', 'q2', 'q3'].map((name) => policy.execute(() => void order.push(name)));
    first.resolve();
    // Arrives after the slot was freed but before the queue drained: must wait its turn.
    const late = policy.execute(() => void order.push('late'));
    await Promise.all([running, ...queued, late]);
    assert.deepEqual(order, ['q1', 'q2', 'q3', 'late']);
  });

  test('an aborted queued caller leaves the queue with its reason and frees its place', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const running = policy.execute(() => gate.promise);
    const caller = new AbortController();
    let ran = false;
    const waiting = policy.execute(() => {
      ran = true;
    }, caller.signal);
    assert.equal(policy.queued, 1);
    const reason = new Error('client disconnected');
    caller.abort(reason);
    await assert.rejects(waiting, (err) => err === reason);
    assert.equal(policy.queued, 0);
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0);

    // Its place in the queue is free again.
    const next = policy.execute(() => 'next');
    assert.equal(policy.queued, 1);
    gate.resolve();
    await running;
    assert.equal(await next, 'next');
    assert.equal(ran, false);
    assert.equal(policy.running, 0);
  });

  test('passes the caller’s signal to the operation and removes the queue listener once admitted', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const running = policy.execute(() => gate.promise);
    const caller = new AbortController();
    const waiting = policy.execute(({ signal }) => signal, caller.signal);
    gate.resolve();
    await running;
    assert.equal(await waiting, caller.signal);
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
  });

  test('an already aborted caller is rejected with its reason', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    await assert.rejects(
      policy.execute(() => 1, caller.signal),
      /gone/,
    );
    assert.equal(policy.running, 0);
  });

  test('validates its options', () => {
    assert.throws(() => bulkhead({ maxConcurrent: 0 }), /maxConcurrent must be an integer in \[1,/);
    assert.throws(() => bulkhead({ maxConcurrent: 1.5 }), RangeError);
    assert.throws(() => bulkhead({ maxConcurrent: 1, maxQueue: -1 }), /maxQueue/);
    assert.throws(() => bulkhead({ maxConcurrent: 1, maxQueue: Number.POSITIVE_INFINITY }), RangeError);
    assert.throws(() => bulkhead(undefined as unknown as { maxConcurrent: number }), TypeError);
    for (const bad of [0, -5, 1.5, Number.NaN, 2 ** 31]) {
      assert.throws(
        () => bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWaitDuration: bad }),
        /bulkhead maxWaitDuration must be an integer in \[1, 2147483647\]/,
      );
    }
    assert.throws(
      () => bulkhead({ maxConcurrent: 1, maxWaitDuration: '10' as unknown as number }),
      /maxWaitDuration must be .*got string/,
    );
  });

  test('maxWaitDuration: a caller still queued after it is rejected (counted nowhere), the queue moves on', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWaitDuration: 40 });
    const holder = deferred<string>();
    const running = policy.execute(() => holder.promise);
    const waiting = policy.execute(async () => 'never runs');
    const t0 = performance.now();
    await assert.rejects(waiting, (e: unknown) => {
      assert.ok(e instanceof BulkheadRejectedError);
      assert.equal(e.waited, 40);
      assert.match(e.message, /no slot free within 40 ms/);
      return true;
    });
    assert.ok(performance.now() - t0 >= 39, 'not before its wait bound');
    assert.equal(policy.queued, 0);
    assert.equal(policy.running, 1);
    // The slot freed later goes to nobody who gave up: the next caller gets it.
    holder.resolve('done');
    assert.equal(await running, 'done');
    assert.equal(policy.running, 0);
    assert.equal(await policy.execute(async () => 'next'), 'next');
  });

  test('maxWaitDuration: a caller handed a slot in time is never rejected later, and streams wait the same way', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWaitDuration: 30 });
    const holder = deferred<void>();
    const first = policy.execute(() => holder.promise);
    const second = policy.execute(async () => {
      await new Promise((r) => setTimeout(r, 80)); // runs well past the wait bound once admitted
      return 'second';
    });
    holder.resolve();
    await first;
    assert.equal(await second, 'second');
    // A stream queued behind a busy slot gives up at the bound too.
    const busy = deferred<void>();
    const hold = policy.execute(() => busy.promise);
    const stream = policy.stream(async function* () {
      yield 1;
    });
    await assert.rejects(
      stream.next(),
      (e: unknown) => e instanceof BulkheadRejectedError && e.waited === 30,
    );
    busy.resolve();
    await hold;
    assert.equal(policy.running, 0);
    assert.equal(policy.queued, 0);
  });
});
