import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BulkheadRejectedError,
  bulkhead,
  type CallContext,
  CircuitBreaker,
  coalesce,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from 'tripswitch';
import { deferred, flush } from '../helpers/deferred.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const noBackoff = { backoff: { initial: 0, jitter: 'none' as const } };

describe('streams through policies and pipelines', () => {
  test('retry re-runs a stream that failed before its first chunk; each attempt is one breaker outcome', async () => {
    const breaker = new CircuitBreaker({ failMax: 5 });
    let attempts = 0;
    const seenAttempts: number[] = [];
    const chunks = await collect(
      pipeline(retry({ maxAttempts: 3, ...noBackoff }), breaker).stream(async function* (ctx: CallContext) {
        attempts++;
        seenAttempts.push(ctx.attempt);
        if (attempts === 1) throw new Error('connect refused');
        yield 'a';
        yield 'b';
      }),
    );
    assert.deepEqual(chunks, ['a', 'b']);
    assert.equal(attempts, 2);
    assert.deepEqual(seenAttempts, [1, 2], 'the operation sees the attempt number');
    assert.equal(breaker.stats().totals.failures, 1);
    assert.equal(breaker.stats().totals.successes, 1);
  });

  test('retry never replays a stream that already delivered a chunk', async () => {
    let attempts = 0;
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of retry({ maxAttempts: 3, ...noBackoff }).stream(async function* () {
          attempts++;
          yield 'a';
          throw new Error('reset mid-stream');
        }))
          seen.push(x);
      })(),
      /reset mid-stream/,
    );
    assert.equal(attempts, 1);
    assert.deepEqual(seen, ['a']);
  });

  test('retry: a consumer that stops at the first chunk closes the upstream', async () => {
    let closed = false;
    for await (const _ of retry().stream(async function* () {
      try {
        yield 1;
        yield 2;
      } finally {
        closed = true;
      }
    }))
      break;
    await flush();
    assert.equal(closed, true);
  });

  test('bulkhead holds its slot for the whole stream and hands it on when the consumer stops', async () => {
    const limit = bulkhead({ maxConcurrent: 1 });
    const gate = deferred();
    const first = limit.stream(async function* () {
      yield 1;
      await gate.promise;
      yield 2;
    });
    assert.equal((await first.next()).value, 1);
    assert.equal(limit.running, 1);
    await assert.rejects(
      limit
        .stream(async function* () {
          yield 'x';
        })
        .next(),
      BulkheadRejectedError,
    );
    await first.return(undefined);
    assert.equal(limit.running, 0, 'break/return releases the slot');
    assert.deepEqual(
      await collect(
        limit.stream(async function* () {
          yield 'y';
        }),
      ),
      ['y'],
    );
    assert.equal(limit.running, 0);
  });

  test('bulkhead queues a stream until a slot frees, and an upstream error releases the slot', async () => {
    const limit = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const a = limit.stream(async function* () {
      yield 1;
      await gate.promise;
      throw new Error('upstream');
    });
    await a.next();
    const b = collect(
      limit.stream(async function* () {
        yield 'queued';
      }),
    );
    await flush();
    assert.equal(limit.queued, 1);
    gate.resolve();
    await assert.rejects(a.next(), /upstream/);
    assert.deepEqual(await b, ['queued']);
    assert.equal(limit.running, 0);
  });

  test('timeout inside the breaker: a stalled stream is a TimeoutError and a breaker failure', async () => {
    const breaker = new CircuitBreaker({ failMax: 1 });
    let signal: AbortSignal | undefined;
    const it = pipeline(breaker, timeout(30)).stream(async function* (ctx: CallContext) {
      signal = ctx.signal;
      yield 'first';
      await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
    });
    assert.equal((await it.next()).value, 'first');
    await assert.rejects(it.next(), TimeoutError);
    assert.equal(signal?.aborted, true);
    assert.equal(breaker.state, 'open');
  });

  test('a layer without stream() is a TypeError naming it; an empty pipeline too', () => {
    const dedupe = coalesce({ key: 'k' });
    assert.throws(
      () => pipeline(new CircuitBreaker(), dedupe).stream(async function* () {}),
      /pipeline policy #1 \(CoalescePolicy\) cannot run streams/,
    );
    assert.throws(() => pipeline().stream(async function* () {}), TypeError);
  });
});
