import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from '../../src/core/breaker.js';
import { BulkheadRejectedError, CircuitOpenError, TimeoutError } from '../../src/core/errors.js';
import { type CallContext, neverAbortedSignal, type Operation, type Policy } from '../../src/core/types.js';
import { bulkhead, fallback, pipeline, retry, timeout, wrap } from '../../src/policies/index.js';

type Equal<X, Y> = (<V>() => V extends X ? 1 : 2) extends <V>() => V extends Y ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T): void => {};

/** A policy that logs entry/exit and hands the inner layer a signal of its own (to trace signal flow). */
function tracer(name: string, log: string[], signals?: Map<string, AbortSignal | undefined>): Policy {
  return {
    async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
      signals?.set(`${name} got`, signal);
      const own = new AbortController();
      signals?.set(`${name} gave`, own.signal);
      log.push(`${name}>`);
      try {
        return await fn({ signal: own.signal, attempt: 1 });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

describe('pipeline', () => {
  test('runs the layers outermost first and unwinds in reverse', async () => {
    const log: string[] = [];
    const policy = pipeline(tracer('a', log), tracer('b', log), tracer('c', log));
    const result = await policy.execute(() => {
      log.push('fn');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(log, ['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
  });

  test('each layer’s ctx.signal is the next layer’s outer signal, down to the operation', async () => {
    const signals = new Map<string, AbortSignal | undefined>();
    const policy = pipeline(tracer('a', [], signals), tracer('b', [], signals));
    const caller = new AbortController();
    let fnSignal: AbortSignal | undefined;
    await policy.execute(({ signal }) => {
      fnSignal = signal;
    }, caller.signal);
    assert.equal(signals.get('a got'), caller.signal);
    assert.equal(signals.get('b got'), signals.get('a gave'));
    assert.equal(fnSignal, signals.get('b gave'));
  });

  test('the caller’s abort reaches an operation running inside timeout, retry and bulkhead', async () => {
    const policy = pipeline(
      retry({ maxAttempts: 3, backoff: { initial: 1 } }),
      timeout(60_000),
      bulkhead({ maxConcurrent: 1 }),
    );
    const caller = new AbortController();
    const reason = new Error('user left');
    let calls = 0;
    const call = policy.execute(
      ({ signal }) =>
        new Promise<never>((_, reject) => {
          calls++;
          signal.addEventListener('abort', () => reject(signal.reason));
          queueMicrotask(() => caller.abort(reason));
        }),
      caller.signal,
    );
    await assert.rejects(call, (err) => err === reason);
    assert.equal(calls, 1, 'the caller’s abort is not retried');
  });

  test('the operation sees retry’s attempt number through layers that do not know attempts', async () => {
    const attempts: number[] = [];
    const policy = pipeline(
      retry({ maxAttempts: 3, backoff: { initial: 1, jitter: 'none' } }),
      timeout(60_000),
      bulkhead({ maxConcurrent: 2 }),
    );
    const result = await policy.execute(({ attempt, signal }) => {
      attempts.push(attempt);
      assert.notEqual(signal, neverAbortedSignal, 'the timeout’s per-call signal reaches the operation');
      if (attempt < 3) throw new Error('transient');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  test('each attempt inside retry gets its own timeout', async () => {
    const signals: AbortSignal[] = [];
    const policy = pipeline(retry({ maxAttempts: 2, backoff: { initial: 1 } }), timeout(20));
    await assert.rejects(
      policy.execute(({ signal }) => {
        signals.push(signal);
        return new Promise<never>(() => {});
      }),
      TimeoutError,
    );
    assert.equal(signals.length, 2);
    assert.notEqual(signals[0], signals[1]);
  });

  test('recommended order: an open breaker ends the retry loop and the fallback answers', async () => {
    const breaker = new CircuitBreaker({ name: 'llm', failMax: 2, openDuration: 60_000 });
    let upstreamCalls = 0;
    const policy = pipeline(
      fallback((reason: unknown) => ({ degraded: true, reason: (reason as Error).name })),
      retry({ maxAttempts: 5, backoff: { initial: 1, jitter: 'none' } }),
      breaker,
      timeout(60_000),
      bulkhead({ maxConcurrent: 4, maxQueue: 4 }),
    );
    const result = await policy.execute(async (): Promise<{ answer: string }> => {
      upstreamCalls++;
      throw new Error('503 model loading');
    });
    expectType<Equal<typeof result, { answer: string } | { degraded: boolean; reason: string }>>(true);
    assert.deepEqual(result, { degraded: true, reason: 'CircuitOpenError' });
    assert.equal(upstreamCalls, 2, 'each attempt is one breaker failure; the trip stops the retries');
    assert.equal(breaker.state, 'open');

    // Later calls fail fast: no upstream call at all.
    assert.deepEqual(await policy.execute(async () => ({ answer: 'x' })), {
      degraded: true,
      reason: 'CircuitOpenError',
    });
    assert.equal(upstreamCalls, 2);
  });

  test('inside the breaker, a timeout is a failure and a bulkhead rejection is not', async () => {
    const breaker = new CircuitBreaker({ name: 'llm', failMax: 5 });
    const gate = bulkhead({ maxConcurrent: 1 });
    const policy = pipeline(breaker, timeout(20), gate);
    let release!: () => void;
    const busy = policy.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await assert.rejects(
      policy.execute(() => 'x'),
      BulkheadRejectedError,
    );
    assert.equal(breaker.failCount, 0, 'a bulkhead rejection is not a failure');
    await assert.rejects(busy, TimeoutError);
    release();
    assert.equal(breaker.failCount, 1, 'the timeout counted');
    assert.equal(breaker.stats().totals.failures, 1);
  });

  test('a CircuitOpenError from the breaker passes out of an outer retry unchanged', async () => {
    const breaker = new CircuitBreaker({ name: 'llm' });
    breaker.open();
    const policy = wrap(retry({ maxAttempts: 3 }), breaker);
    await assert.rejects(
      policy.execute(() => 'x'),
      (err) => err instanceof CircuitOpenError && err.breakerName === 'llm',
    );
  });

  test('nested pipelines and fallbacks widen the result type', async () => {
    const inner = pipeline(fallback(0), timeout(1000));
    const outer = pipeline(fallback(null), inner);
    const result = await outer.execute((): string => {
      throw new Error('x');
    });
    expectType<Equal<typeof result, string | number | null>>(true);
    assert.equal(result, 0);
    const plain: Policy = pipeline(timeout(1000), retry());
    assert.equal(await plain.execute(() => 'typed as Policy'), 'typed as Policy');
  });

  test('an empty pipeline just runs the operation with the caller’s signal', async () => {
    const caller = new AbortController();
    let ctx: CallContext | undefined;
    assert.equal(
      await pipeline().execute((c) => {
        ctx = c;
        return 1;
      }, caller.signal),
      1,
    );
    assert.equal(ctx?.signal, caller.signal);
    assert.equal(ctx?.attempt, 1);
  });

  test('rejects members that are not policies', () => {
    assert.throws(() => pipeline(timeout(10), {} as Policy), /pipeline policy #1 must have an execute/);
    assert.equal(wrap, pipeline);
  });
});
