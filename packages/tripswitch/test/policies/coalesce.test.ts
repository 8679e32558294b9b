import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CallContext, CircuitBreaker, coalesce, pipeline, retry } from 'tripswitch';
import { deferred, flush } from '../helpers/deferred.js';

describe('coalesce', () => {
  test('identical concurrent calls share one execution; each caller gets the value once', async () => {
    const dedupe = coalesce({ key: (q: string) => q });
    let upstream = 0;
    const d = deferred<string>();
    const op = () => {
      upstream++;
      return d.promise;
    };
    const calls = Array.from({ length: 100 }, () => dedupe.for('same question').execute(op));
    const other = dedupe.for('other question').execute(async () => {
      upstream++;
      return 'other';
    });
    assert.equal(dedupe.waiters('same question'), 100);
    d.resolve('answer');
    assert.deepEqual(await Promise.all(calls), Array(100).fill('answer'));
    assert.equal(await other, 'other');
    assert.equal(upstream, 2, 'one upstream call per distinct key');
    assert.equal(dedupe.inFlight, 0, 'nothing kept after settlement');
  });

  test('an error reaches every waiter exactly once, and the next call runs afresh', async () => {
    const dedupe = coalesce({ key: 'k' });
    const boom = new Error('upstream 503');
    const d = deferred<number>();
    let runs = 0;
    const settled: unknown[] = [];
    const calls = Array.from({ length: 5 }, () =>
      dedupe
        .execute(() => {
          runs++;
          return d.promise;
        })
        .then(
          () => settled.push('value'),
          (e) => settled.push(e),
        ),
    );
    d.reject(boom);
    await Promise.all(calls);
    assert.deepEqual(settled, Array(5).fill(boom));
    assert.equal(await dedupe.execute(async () => ++runs), 2, 'a settled flight is not reused');
  });

  test("a waiter's abort detaches only that waiter; the shared call keeps running for the others", async () => {
    const dedupe = coalesce({ key: 'k' });
    const d = deferred<string>();
    let shared: AbortSignal | undefined;
    const op = (ctx: CallContext) => {
      shared = ctx.signal;
      return d.promise;
    };
    const leaving = new AbortController();
    const a = dedupe.execute(op, leaving.signal);
    const b = dedupe.execute(op);
    const reason = new Error('user closed the tab');
    leaving.abort(reason);
    await assert.rejects(a, (e) => e === reason);
    assert.equal(shared?.aborted, false, 'the shared call is not aborted while someone still waits');
    assert.equal(dedupe.waiters('k'), 1);
    d.resolve('ok');
    assert.equal(await b, 'ok');
  });

  test('the shared call is aborted when the last waiter leaves, and the key is free again', async () => {
    const dedupe = coalesce({ key: 'k' });
    let runs = 0;
    const signals: AbortSignal[] = [];
    const op = (ctx: CallContext) => {
      runs++;
      signals.push(ctx.signal);
      return new Promise<string>((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
      );
    };
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = dedupe.execute(op, c1.signal);
    const p2 = dedupe.execute(op, c2.signal);
    c1.abort(new Error('one'));
    await assert.rejects(p1, /one/);
    assert.equal(signals[0]!.aborted, false);
    const last = new Error('two');
    c2.abort(last);
    await assert.rejects(p2, (e) => e === last);
    assert.equal(signals[0]!.aborted, true);
    assert.equal(signals[0]!.reason, last);
    assert.equal(dedupe.inFlight, 0);
    const fresh = dedupe.execute(async () => 'fresh');
    assert.equal(await fresh, 'fresh');
    assert.equal(runs, 1, 'the fresh call ran its own operation, not the aborted one');
  });

  test('callers with and without a signal in one flight: each gets the outcome once, only signal holders can leave', async () => {
    const dedupe = coalesce({ key: 'k' });
    const d = deferred<string>();
    let shared: AbortSignal | undefined;
    const op = (ctx: CallContext) => {
      shared = ctx.signal;
      return d.promise;
    };
    const plain = Array.from({ length: 3 }, () => dedupe.execute(op));
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const own = controllers.map((c) => dedupe.execute(op, c.signal));
    assert.equal(dedupe.waiters('k'), 6);
    for (const c of controllers) c.abort(new Error('left'));
    for (const p of own) await assert.rejects(p, /left/);
    assert.equal(dedupe.waiters('k'), 3, 'callers without a signal stay');
    assert.equal(shared?.aborted, false, 'not the last waiter: the shared call keeps running');
    const late = dedupe.execute(op);
    d.reject(new Error('upstream down'));
    const outcomes = await Promise.allSettled([...plain, late]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.status)),
      ['upstream down', 'upstream down', 'upstream down', 'upstream down'],
    );
    assert.equal(dedupe.inFlight, 0);
    assert.equal(dedupe.waiters('k'), 0);
    assert.equal(await dedupe.execute(async () => 'fresh'), 'fresh', 'the next flight starts afresh');
  });

  test('a late settlement of an abandoned flight does not touch the fresh flight for the same key', async () => {
    const dedupe = coalesce({ key: 'k' });
    const stale = deferred<string>();
    const c = new AbortController();
    const p = dedupe.execute(() => stale.promise, c.signal); // ignores its signal
    c.abort(new Error('gone'));
    await assert.rejects(p);
    const fresh = deferred<string>();
    const q = dedupe.execute(() => fresh.promise);
    stale.resolve('stale');
    await flush();
    assert.equal(dedupe.inFlight, 1, 'the fresh flight is still registered');
    fresh.resolve('fresh');
    assert.equal(await q, 'fresh');
  });

  test('an already-aborted caller never starts or joins anything', async () => {
    const dedupe = coalesce({ key: 'k' });
    const c = new AbortController();
    c.abort(new Error('before'));
    let ran = false;
    await assert.rejects(
      dedupe.execute(() => {
        ran = true;
      }, c.signal),
      /before/,
    );
    assert.equal(ran, false);
    assert.equal(dedupe.inFlight, 0);
  });

  test('a synchronous throw reaches every waiter; memory is bounded by keys in flight', async () => {
    const dedupe = coalesce({ key: (n: number) => `k${n}` });
    await assert.rejects(
      dedupe.for(1).execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    const all = [];
    for (let i = 0; i < 10_000; i++) all.push(dedupe.for(i).execute(async () => i));
    assert.equal(dedupe.inFlight, 10_000);
    await Promise.all(all);
    assert.equal(dedupe.inFlight, 0);
  });

  test('composes in a pipeline: N identical calls through retry and a breaker are one upstream call and one breaker outcome', async () => {
    const breaker = new CircuitBreaker({ failMax: 1 });
    const dedupe = coalesce({ key: (q: string) => q });
    let upstream = 0;
    const d = deferred<string>();
    const calls = Array.from({ length: 20 }, () =>
      pipeline(dedupe.for('q'), retry({ maxAttempts: 1 }), breaker).execute(() => {
        upstream++;
        return d.promise;
      }),
    );
    d.resolve('v');
    assert.deepEqual(await Promise.all(calls), Array(20).fill('v'));
    assert.equal(upstream, 1);
    assert.equal(breaker.stats().totals.calls, 1);
  });

  test('bad options and keys are clear errors', async () => {
    assert.throws(() => coalesce(undefined as never), TypeError);
    assert.throws(() => coalesce({ key: 42 as never }), /coalesce key must be a function/);
    const dedupe = coalesce({ key: () => 1 as unknown as string });
    await assert.rejects(
      dedupe.execute(() => 1),
      /coalesce key must return a string/,
    );
  });
});
