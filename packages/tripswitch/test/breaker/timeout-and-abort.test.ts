import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CallContext, CircuitBreaker, TimeoutError } from 'tripswitch';

const flush = () => new Promise<void>((r) => setImmediate(r));

/** An operation that only ends when its signal aborts, rejecting with the abort reason. */
function untilAborted(ctx: CallContext): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
  });
}

describe('per-call timeout', () => {
  test('a timeout is never early: calls started before a long synchronous stretch time out a full timeout after it started', async () => {
    // Deadlines are dated once per event-loop turn (DeadlineQueue): here the turn runs on for 60 ms after
    // the calls start, and each call must still get its whole 50 ms from its own start.
    const b = new CircuitBreaker({ timeout: 50, failMax: 100 });
    const started: number[] = [];
    const calls = Array.from({ length: 20 }, () => {
      started.push(performance.now());
      return b.execute(untilAborted).then(
        () => Number.NaN,
        (e: unknown) => {
          assert.ok(e instanceof TimeoutError, String(e));
          return performance.now();
        },
      );
    });
    const spin = performance.now() + 60;
    while (performance.now() < spin) {
      // a synchronous stretch of the same turn
    }
    const ended = await Promise.all(calls);
    ended.forEach((at, i) => {
      assert.ok(
        at - started[i]! >= 50,
        `call ${i} timed out ${(at - started[i]!).toFixed(1)} ms after it started`,
      );
    });
  });

  test("the first call timing out aborts only its own signal; the other call's signal stays live", async () => {
    // The second call starts half a timeout later, so its deadline is never due when the first one's fires
    // (a timer that fires late on a loaded machine expires every deadline due by then).
    const b = new CircuitBreaker({ timeout: 1000, failMax: 5 });
    let firstSignal: AbortSignal | undefined;
    let secondSignal: AbortSignal | undefined;
    let firstAborted!: () => void;
    const firstAbortSeen = new Promise<void>((r) => {
      firstAborted = r;
    });
    const first = b.execute((ctx) => {
      firstSignal = ctx.signal;
      ctx.signal.addEventListener('abort', () => firstAborted(), { once: true });
      return untilAborted(ctx);
    });
    await new Promise((r) => setTimeout(r, 500));
    const second = b.execute(async (ctx) => {
      secondSignal = ctx.signal;
      await firstAbortSeen; // finish right after the first call's timeout fired
      return ctx.signal.aborted ? 'aborted' : 'second ok';
    });
    await assert.rejects(first, (e) => e instanceof TimeoutError);
    assert.equal(await second, 'second ok');
    assert.ok(firstSignal && secondSignal);
    assert.notEqual(firstSignal, secondSignal, 'each call gets its own signal');
    assert.equal(firstSignal.aborted, true);
    assert.ok(firstSignal.reason instanceof TimeoutError);
    assert.equal(secondSignal.aborted, false, "one call's timeout must not abort another call's signal");
    assert.equal(b.stats().totals.successes, 1);
  });

  test('a timeout is a failure: TimeoutError thrown, counted, trips the breaker', async () => {
    const b = new CircuitBreaker({ timeout: 20, failMax: 2 });
    await assert.rejects(b.execute(untilAborted), (e) => e instanceof TimeoutError && e.timeoutMs === 20);
    assert.equal(b.failCount, 1);
    await assert.rejects(b.execute(untilAborted), TimeoutError);
    assert.equal(b.state, 'open');
    assert.equal(b.stats().totals.failures, 2);
  });

  test('a signal-honouring operation that times out is counted in totals.timeouts', async () => {
    const b = new CircuitBreaker({ timeout: 20, failMax: 5 });
    await assert.rejects(b.execute(untilAborted), TimeoutError);
    assert.equal(b.stats().totals.timeouts, 1);
  });

  test('the timeout wins even when the operation rejects with its own error on abort', async () => {
    class ServerError extends Error {}
    // include lists neither error: only the breaker's own timeout rule can make this a failure.
    const b = new CircuitBreaker({ timeout: 20, failMax: 1, include: [ServerError] });
    await assert.rejects(
      b.execute(
        (ctx) =>
          new Promise<never>((_, reject) => {
            ctx.signal.addEventListener('abort', () => reject(new Error('op aborted')), { once: true });
          }),
      ),
      (e) => e instanceof TimeoutError,
    );
    assert.equal(b.state, 'open', 'a call aborted by the breaker timeout is a failure');
  });

  test('a timeout fires even when the operation ignores its signal, and is counted as a timeout', async () => {
    const b = new CircuitBreaker({ timeout: 20, failMax: 1 });
    await assert.rejects(
      b.execute(() => new Promise<never>(() => {})),
      (e) => e instanceof TimeoutError && e.timeoutMs === 20,
    );
    assert.equal(b.state, 'open');
    assert.equal(b.stats().totals.timeouts, 1);
    assert.equal(b.stats().totals.failures, 1);
  });

  test("a call that finishes in time leaves no ref'ed timer behind", async () => {
    const b = new CircuitBreaker({ timeout: 60_000 });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 50; i++) assert.equal(await b.execute(async () => i), i);
    await new Promise<void>((r) => setImmediate(r)); // the deadline queue unrefs its timer at the turn's end
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(after, before);
  });
});

describe('caller cancellation', () => {
  for (const timeout of [undefined, 60_000]) {
    const label = timeout === undefined ? 'no timeout' : 'with timeout';
    test(`caller abort mid-call (${label}): rejects with the caller's reason, neither success nor failure`, async () => {
      const b = new CircuitBreaker({ failMax: 3, ...(timeout === undefined ? {} : { timeout }) });
      await assert.rejects(b.execute(() => Promise.reject(new Error('real failure'))));
      assert.equal(b.failCount, 1);
      const before = b.stats().totals;
      const controller = new AbortController();
      const reason = new Error('user went away');
      const call = b.execute(untilAborted, controller.signal);
      await flush();
      controller.abort(reason);
      await assert.rejects(call, (e) => e === reason);
      const after = b.stats().totals;
      assert.equal(b.failCount, 1, 'the caller giving up says nothing about the provider');
      assert.equal(after.failures, before.failures);
      assert.equal(after.successes, before.successes);
      assert.equal(after.ignored, before.ignored + 1);
      assert.equal(b.state, 'closed');
    });

    test(`an already-aborted caller signal (${label}): fn is never called`, async () => {
      const b = new CircuitBreaker(timeout === undefined ? {} : { timeout });
      const controller = new AbortController();
      const reason = new Error('already gone');
      controller.abort(reason);
      let called = false;
      await assert.rejects(
        b.execute(() => {
          called = true;
          return 'x';
        }, controller.signal),
        (e) => e === reason,
      );
      assert.equal(called, false);
      assert.equal(b.failCount, 0);
      assert.equal(b.stats().totals.failures, 0);
    });
  }

  test("with a timeout, an operation that ignores its signal still ends on the caller's abort", async () => {
    const b = new CircuitBreaker({ timeout: 60_000 });
    const controller = new AbortController();
    const call = b.execute(() => new Promise<never>(() => {}), controller.signal);
    await flush();
    const reason = new Error('cancel');
    controller.abort(reason);
    await assert.rejects(call, (e) => e === reason);
    assert.equal(b.stats().totals.failures, 0);
  });

  test("with a timeout, the caller's abort is forwarded to the call's own signal", async () => {
    const b = new CircuitBreaker({ timeout: 60_000 });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = b.execute((ctx) => {
      inner = ctx.signal;
      return untilAborted(ctx);
    }, controller.signal);
    await flush();
    controller.abort(new Error('stop'));
    await assert.rejects(call);
    assert.equal(inner?.aborted, true);
  });

  test('with no timeout, the caller signal is passed through unchanged', async () => {
    const b = new CircuitBreaker();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    await b.execute((ctx) => {
      seen = ctx.signal;
    }, controller.signal);
    assert.equal(seen, controller.signal);
  });

  test('with no signal and no timeout, the operation still gets a live signal', async () => {
    const b = new CircuitBreaker();
    let seen: CallContext | undefined;
    await b.execute((ctx) => {
      seen = ctx;
    });
    assert.ok(seen?.signal instanceof AbortSignal);
    assert.equal(seen.signal.aborted, false);
    assert.equal(seen.attempt, 1);
  });
});

describe('timeout timers and process lifetime', () => {
  test('a process whose last timed call settled exits at once, long before the timeout would fire', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = [
      "import { CircuitBreaker } from 'tripswitch';",
      'const b = new CircuitBreaker({ timeout: 600_000 });',
      'const slow = b.execute((ctx) => new Promise((r) => setTimeout(() => r(ctx.signal.aborted ? 0 : 1), 20)));',
      'const values = await Promise.all([b.execute(async () => 1), slow, b.execute(() => 1)]);',
      "process.stdout.write(String(values.join(',')));",
    ].join('\n');
    const started = Date.now();
    const child = spawnSync(
      process.execPath,
      ['--conditions=tripswitch-source', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 200_000, cwd: new URL('.', import.meta.url).pathname },
    );
    assert.equal(
      child.error,
      undefined,
      "the child exited on its own (a ref'ed 10-minute timer would hold it)",
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, '1,1,1');
    assert.ok(Date.now() - started < 600_000);
  });
});
