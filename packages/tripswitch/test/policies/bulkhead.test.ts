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
  });
});
