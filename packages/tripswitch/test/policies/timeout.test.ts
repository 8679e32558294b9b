import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { TimeoutError } from '../../src/core/errors.js';
import { timeout } from '../../src/policies/index.js';

/** Ref'ed timers once the current event-loop turn is over (deadline queues unref their timer then). */
const timers = async (): Promise<number> => {
  await new Promise<void>((r) => setImmediate(r));
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
};

/** An operation that never settles and ignores its signal (a hanging upstream). */
const hang = (): Promise<never> => new Promise<never>(() => {});

describe('timeout policy', () => {
  test('passes the result through and clears its timer', async () => {
    const before = await timers();
    const policy = timeout(60_000);
    assert.equal(await policy.execute(() => 'ok'), 'ok');
    assert.equal(await policy.execute(async () => 42), 42);
    assert.equal(await timers(), before);
  });

  test('passes the operation’s error through, including a synchronous throw', async () => {
    const policy = timeout(60_000);
    const boom = new Error('boom');
    await assert.rejects(
      policy.execute(() => Promise.reject(boom)),
      (err) => err === boom,
    );
    await assert.rejects(
      policy.execute(() => {
        throw boom;
      }),
      (err) => err === boom,
    );
  });

  test('aggressive: rejects with TimeoutError while the operation still hangs, and aborts its signal', async () => {
    const policy = timeout(20);
    let seen: AbortSignal | undefined;
    await assert.rejects(
      policy.execute(({ signal }) => {
        seen = signal;
        return hang();
      }),
      (err) => err instanceof TimeoutError && err.timeoutMs === 20,
    );
    assert.ok(seen?.aborted);
    assert.ok(seen?.reason instanceof TimeoutError);
  });

  test('cooperative: aborts, then waits for the operation to settle before rejecting with TimeoutError', async () => {
    const policy = timeout(20, { strategy: 'cooperative' });
    const events: string[] = [];
    await assert.rejects(
      policy.execute(
        ({ signal }) =>
          new Promise<string>((resolve) => {
            signal.addEventListener('abort', () => {
              events.push('aborted');
              // Cleans up for a while, then even returns a value: the deadline was still missed.
              setTimeout(() => {
                events.push('settled');
                resolve('late');
              }, 30);
            });
          }),
      ),
      (err) => {
        events.push('rejected');
        return err instanceof TimeoutError;
      },
    );
    assert.deepEqual(events, ['aborted', 'settled', 'rejected']);
  });

  test('each call gets its own signal: one timing out does not abort another', async () => {
    const policy = timeout(30);
    let fastSignal: AbortSignal | undefined;
    const slow = policy.execute(() => hang());
    const fast = policy.execute(({ signal }) => {
      fastSignal = signal;
      return 'fast';
    });
    assert.equal(await fast, 'fast');
    await assert.rejects(slow, TimeoutError);
    assert.equal(fastSignal?.aborted, false);
  });

  for (const strategy of ['aggressive', 'cooperative'] as const) {
    test(`${strategy}: the caller's abort rejects with the caller's reason and aborts the call`, async () => {
      const policy = timeout(60_000, { strategy });
      const caller = new AbortController();
      const reason = new Error('user went away');
      let inner: AbortSignal | undefined;
      const before = await timers();
      const call = policy.execute(
        ({ signal }) =>
          new Promise<never>((_, reject) => {
            inner = signal;
            signal.addEventListener('abort', () => reject(signal.reason));
          }),
        caller.signal,
      );
      caller.abort(reason);
      await assert.rejects(call, (err) => err === reason);
      assert.equal(inner?.reason, reason);
      assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
      assert.equal(await timers(), before, 'no deadline timer holds the process');
    });
  }

  test('removes its listener from the caller’s signal when the call settles', async () => {
    const policy = timeout(60_000);
    const caller = new AbortController();
    for (let i = 0; i < 5; i++) await policy.execute(() => i, caller.signal);
    await assert.rejects(policy.execute(() => Promise.reject(new Error('x')), caller.signal));
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
  });

  test('an already aborted caller signal rejects without running the operation', async () => {
    const caller = new AbortController();
    caller.abort(new Error('early'));
    let ran = false;
    await assert.rejects(
      timeout(1000).execute(() => {
        ran = true;
      }, caller.signal),
      /early/,
    );
    assert.equal(ran, false);
  });

  test('validates its options', () => {
    assert.throws(() => timeout(0), RangeError);
    assert.throws(() => timeout(-5), /timeout ms must be/);
    assert.throws(() => timeout(Number.NaN), RangeError);
    assert.throws(() => timeout(2 ** 32), RangeError);
    assert.throws(() => timeout('10' as unknown as number), TypeError);
    assert.throws(() => timeout(10, { strategy: 'eager' as 'aggressive' }), /strategy must be/);
  });
});
