import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CallContext, CircuitBreaker, CircuitOpenError, TimeoutError } from 'tripswitch';
import { DeadlineQueue } from '../../src/core/deadlines.js';
import {
  runStream,
  StreamAbandonedError,
  type StreamIterator,
  type StreamOperation,
} from '../../src/core/stream.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred, flush } from '../helpers/deferred.js';

/** The breaker's stream entry point as Phase A wires it: permits from the breaker, deadlines given here. */
function stream<T>(
  b: CircuitBreaker,
  fn: StreamOperation<T>,
  opts: { signal?: AbortSignal; firstChunk?: number; idle?: number } = {},
): StreamIterator<T> {
  return runStream(b, fn, opts.signal, {
    firstChunk: opts.firstChunk === undefined ? undefined : new DeadlineQueue(opts.firstChunk),
    idle: opts.idle === undefined ? undefined : new DeadlineQueue(opts.idle),
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Resolves when the signal aborts (never otherwise). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const totals = (b: CircuitBreaker) => b.stats().totals;

describe('streams through the breaker: outcomes', () => {
  test('a stream that ends is one success, recorded at the end (not at the first chunk)', async () => {
    const b = new CircuitBreaker();
    const gate = deferred();
    const it = stream(b, async function* () {
      yield 'a';
      await gate.promise;
      yield 'b';
    });
    assert.deepEqual(await it.next(), { done: false, value: 'a' });
    assert.equal(totals(b).successes, 0, 'nothing recorded while the stream runs');
    gate.resolve();
    assert.deepEqual(await collect(it), ['b']);
    assert.equal(totals(b).successes, 1);
    assert.equal(totals(b).calls, 1);
  });

  test('an upstream error mid-stream reaches the consumer and is one failure', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const boom = new Error('upstream reset');
    await assert.rejects(
      collect(
        stream(b, async function* () {
          yield 1;
          throw boom;
        }),
      ),
      (e) => e === boom,
    );
    assert.equal(totals(b).failures, 1);
    assert.equal(b.state, 'open');
  });

  test("no first chunk in time: TimeoutError, a failure, and the call's own signal aborted with it", async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    let signal: AbortSignal | undefined;
    let cleanedUp = false;
    const it = stream(
      b,
      async function* (ctx: CallContext) {
        signal = ctx.signal;
        try {
          await aborted(ctx.signal);
          yield 'never';
        } finally {
          cleanedUp = true;
        }
      },
      { firstChunk: 30 },
    );
    const err = await it.next().then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError && err.timeoutMs === 30);
    assert.equal(signal?.aborted, true);
    assert.equal(signal?.reason, err);
    assert.equal(totals(b).failures, 1);
    assert.equal(totals(b).timeouts, 1);
    assert.equal(b.state, 'open');
    assert.deepEqual(await it.next(), { done: true, value: undefined }, 'a timed-out stream is over');
    await flush();
    assert.equal(cleanedUp, true, "the upstream generator's finally ran");
  });

  test('the first-chunk deadline also covers resolving the iterable', async () => {
    const b = new CircuitBreaker();
    const it = stream(b, () => new Promise<AsyncIterable<number>>(() => {}), { firstChunk: 20 });
    await assert.rejects(it.next(), TimeoutError);
    assert.equal(totals(b).failures, 1);
  });

  test('silence longer than idleTimeout between chunks is a failure; the chunks before it were delivered', async () => {
    const b = new CircuitBreaker();
    let signal: AbortSignal | undefined;
    const seen: number[] = [];
    const it = stream(
      b,
      async function* (ctx: CallContext) {
        signal = ctx.signal;
        yield 1;
        yield 2;
        await aborted(ctx.signal); // then hangs
        yield 3;
      },
      { firstChunk: 5_000, idle: 30 },
    );
    await assert.rejects(
      (async () => {
        for await (const x of it) seen.push(x);
      })(),
      (e) => e instanceof TimeoutError && e.timeoutMs === 30,
    );
    assert.deepEqual(seen, [1, 2]);
    assert.equal(signal?.aborted, true);
    assert.equal(totals(b).failures, 1);
  });

  test('a slow consumer never times the upstream out (idle time counts only while the consumer waits)', async () => {
    const b = new CircuitBreaker();
    const it = stream(
      b,
      async function* () {
        yield 1;
        yield 2;
        yield 3;
      },
      { firstChunk: 20, idle: 20 },
    );
    const seen: number[] = [];
    for await (const x of it) {
      seen.push(x);
      await sleep(60); // three times the idle timeout between reads
    }
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(totals(b).successes, 1);
    assert.equal(totals(b).failures, 0);
  });

  test('a consumer that breaks out is neither outcome; the call is aborted and the upstream closed', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    let signal: AbortSignal | undefined;
    let closed = false;
    const it = stream(b, async function* (ctx: CallContext) {
      signal = ctx.signal;
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    });
    for await (const x of it) if (x === 2) break;
    await flush();
    assert.equal(signal?.aborted, true);
    assert.ok(signal?.reason instanceof StreamAbandonedError);
    assert.equal(closed, true);
    const t = totals(b);
    assert.equal(t.successes + t.failures, 0);
    assert.equal(t.ignored, 1);
    assert.equal(b.state, 'closed');
  });

  test("the caller's abort mid-stream rejects with its reason and is neither outcome", async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const caller = new AbortController();
    let signal: AbortSignal | undefined;
    const it = stream(
      b,
      async function* (ctx: CallContext) {
        signal = ctx.signal;
        yield 'first';
        await aborted(ctx.signal);
      },
      { signal: caller.signal },
    );
    assert.equal((await it.next()).value, 'first');
    const pending = it.next();
    const reason = new Error('user left');
    caller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.equal(signal?.reason, reason);
    assert.equal(totals(b).failures, 0);
    assert.equal(totals(b).ignored, 1);
    assert.equal(b.state, 'closed');
  });

  test('a caller abort while the consumer holds a chunk surfaces on its next read', async () => {
    const b = new CircuitBreaker();
    const caller = new AbortController();
    const it = stream(
      b,
      async function* () {
        yield 1;
        yield 2;
      },
      { signal: caller.signal },
    );
    await it.next();
    caller.abort(new Error('gone'));
    await assert.rejects(it.next(), /gone/);
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(totals(b).successes, 0);
  });

  test('an already-aborted caller signal: the operation never runs and nothing is recorded', async () => {
    const b = new CircuitBreaker();
    const c = new AbortController();
    c.abort(new Error('before'));
    let ran = false;
    await assert.rejects(
      stream(
        b,
        async function* () {
          ran = true;
          yield 1;
        },
        { signal: c.signal },
      ).next(),
      /before/,
    );
    assert.equal(ran, false);
    assert.equal(totals(b).calls, 0);
  });

  test('an operation that returns no async iterable is a TypeError that never counts', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    await assert.rejects(
      stream(b, () => 42 as never).next(),
      /must return \(or resolve to\) an async iterable/,
    );
    assert.equal(b.state, 'closed');
    assert.equal(totals(b).failures, 0);
  });

  test('reads requested before the previous one settled are served in order, like an async generator', async () => {
    const b = new CircuitBreaker();
    const it = stream(b, async function* () {
      yield 1;
      yield 2;
    });
    const [a, c, d, e] = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    assert.deepEqual(
      [a, c, d, e],
      [
        { done: false, value: 1 },
        { done: false, value: 2 },
        { done: true, value: undefined },
        { done: true, value: undefined },
      ],
    );
    assert.equal(totals(b).successes, 1, 'one outcome however many reads');
  });

  test('throw() from the consumer stops the stream as neither outcome and rejects with its error', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    let signal: AbortSignal | undefined;
    const it = stream(b, async function* (ctx: CallContext) {
      signal = ctx.signal;
      yield 1;
      yield 2;
    });
    await it.next();
    const mine = new Error('consumer gave up');
    await assert.rejects(it.throw(mine), (e) => e === mine);
    assert.ok(signal?.reason instanceof StreamAbandonedError);
    assert.equal(totals(b).failures, 0);
    assert.equal(b.state, 'closed');
  });

  test('works with web ReadableStreams; breaking out cancels the ReadableStream', async () => {
    const b = new CircuitBreaker();
    let cancelled: unknown;
    const make = () =>
      new ReadableStream<string>({
        start(controller) {
          controller.enqueue('x');
          controller.enqueue('y');
        },
        cancel(reason) {
          cancelled = reason ?? 'cancelled';
        },
      });
    for await (const chunk of stream(b, make)) if (chunk === 'x') break;
    await flush();
    assert.ok(cancelled !== undefined, 'the ReadableStream was cancelled');
    const done = new ReadableStream<number>({
      start(controller) {
        controller.enqueue(1);
        controller.close();
      },
    });
    assert.deepEqual(await collect(stream(b, () => done)), [1]);
    assert.equal(totals(b).successes, 1);
  });
});

describe('streams through the breaker: admission and generations', () => {
  test('an open circuit rejects at the first read, and the operation never runs', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    b.open();
    let ran = false;
    await assert.rejects(
      stream(b, async function* () {
        ran = true;
        yield 1;
      }).next(),
      CircuitOpenError,
    );
    assert.equal(ran, false);
  });

  test('a HALF-OPEN probe stream holds its slot until it ends, then closes the circuit', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    b.open();
    clock.advance(1_000);
    const gate = deferred();
    const probe = stream(b, async function* () {
      yield 'first';
      await gate.promise;
      yield 'last';
    });
    assert.equal((await probe.next()).value, 'first');
    assert.equal(b.state, 'half-open');
    await assert.rejects(
      b.execute(() => 'other'),
      CircuitOpenError,
      'the probe slot is still held',
    );
    await assert.rejects(
      stream(b, async function* () {
        yield 1;
      }).next(),
      CircuitOpenError,
    );
    gate.resolve();
    assert.deepEqual(await collect(probe), ['last']);
    assert.equal(b.state, 'closed');
  });

  test('an abandoned probe stream gives its slot back without closing or reopening', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    b.open();
    clock.advance(1_000);
    const probe = stream(b, async function* () {
      yield 1;
      yield 2;
    });
    await probe.next();
    await probe.return();
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(() => 'next probe'), 'next probe');
    assert.equal(b.state, 'closed');
  });

  test('a stream that began before a trip cannot close (success) or reopen (failure) a later state', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    const gateOk = deferred();
    const gateFail = deferred();
    const ok = stream(b, async function* () {
      yield 1;
      await gateOk.promise;
    });
    const bad = stream(b, async function* () {
      yield 1;
      await gateFail.promise;
      throw new Error('late failure');
    });
    await ok.next();
    await bad.next();
    b.open();
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
    gateOk.resolve();
    await collect(ok);
    assert.equal(b.state, 'half-open', 'a stale success does not close the circuit');
    gateFail.resolve();
    await assert.rejects(collect(bad), /late failure/);
    assert.equal(b.state, 'half-open', 'a stale failure does not reopen it');
  });

  test('memory: a thousand finished streams leave no deadline or timer holding the process', async () => {
    const b = new CircuitBreaker();
    const first = new DeadlineQueue(60_000);
    const idle = new DeadlineQueue(60_000);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 1000; i++) {
      const it = runStream(
        b,
        async function* () {
          yield i;
          yield i + 1;
        },
        undefined,
        { firstChunk: first, idle },
      );
      if (i % 2 === 0) await collect(it);
      else {
        await it.next();
        await it.return();
      }
    }
    assert.equal(first.size + idle.size, 0);
    await flush(); // the queues unref their timer at the end of the event-loop turn
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(after, before, "no ref'ed timer left behind");
    assert.equal(totals(b).successes, 500);
    assert.equal(totals(b).ignored, 500);
  });
});

describe('streams through the breaker: a real SSE upstream on loopback', () => {
  let server: Server;
  let base = '';
  const closedByClient: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      req.on('close', () => closedByClient.push(req.url ?? ''));
      const send = (data: string) => res.write(`data: ${data}\n\n`);
      if (req.url === '/tokens') {
        let i = 0;
        const timer = setInterval(() => {
          if (i < 3) send(`token${i++}`);
          else {
            res.end('data: [DONE]\n\n');
            clearInterval(timer);
          }
        }, 5);
        res.on('close', () => clearInterval(timer));
      } else if (req.url === '/stall') {
        send('token0'); // then nothing, connection left open
      } else {
        res.end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
  });

  /** A minimal SSE client: fetch with the call's own signal, yield each `data:` payload until [DONE]. */
  function sse(path: string) {
    return async function* (ctx: CallContext): AsyncGenerator<string> {
      const res = await fetch(base + path, { signal: ctx.signal });
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const bytes of res.body) {
        buffer += decoder.decode(bytes as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.replace(/^data: /, '');
          if (data === '[DONE]') return;
          yield data;
          end = buffer.indexOf('\n\n');
        }
      }
    };
  }

  test('token stream ends: every token, one success', async () => {
    const b = new CircuitBreaker();
    assert.deepEqual(await collect(stream(b, sse('/tokens'), { firstChunk: 10_000, idle: 10_000 })), [
      'token0',
      'token1',
      'token2',
    ]);
    assert.equal(totals(b).successes, 1);
  });

  test('upstream stalls mid-stream: idle timeout is a failure and the HTTP connection is closed', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const t of stream(b, sse('/stall'), { firstChunk: 10_000, idle: 100 })) seen.push(t);
      })(),
      TimeoutError,
    );
    assert.deepEqual(seen, ['token0']);
    assert.equal(b.state, 'open');
    for (let i = 0; i < 200 && !closedByClient.includes('/stall'); i++) await sleep(10);
    assert.ok(closedByClient.includes('/stall'), 'aborting the call closed the upstream connection');
  });

  test('consumer breaks after the first token: neither outcome, connection closed', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    closedByClient.length = 0;
    for await (const t of stream(b, sse('/stall'))) {
      assert.equal(t, 'token0');
      break;
    }
    for (let i = 0; i < 200 && !closedByClient.includes('/stall'); i++) await sleep(10);
    assert.ok(closedByClient.includes('/stall'));
    assert.equal(totals(b).failures + totals(b).successes, 0);
    assert.equal(b.state, 'closed');
  });
});
