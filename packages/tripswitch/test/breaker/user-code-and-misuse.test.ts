// Issue 12, items 1, 2 and 4: the caller's own mistakes never count as upstream failures, user callbacks
// may be async (a rejection is contained like a throw), and permits classify errors like execute().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BreakerRegistry,
  bulkhead,
  CircuitBreaker,
  fallback,
  pipeline,
  retry,
  timeout,
  UsageError,
} from 'tripswitch';
import { chaos } from '../../src/testing/chaos.js';
import { flush } from '../helpers/deferred.js';

class Excluded extends Error {}

/** Collects unhandled rejections while a describe block runs (a listener also keeps Node from exiting). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
async function assertNoUnhandled(): Promise<void> {
  for (let i = 0; i < 5; i++) await flush();
  assert.deepEqual(unhandled.splice(0), [], 'no unhandled rejection');
}

describe('protect() keeps this; misuse is a UsageError that never counts (item 1)', () => {
  test('a protected method sees its receiver and arguments', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const o: { x: number; m(this: { x: number }, y: number): number | Promise<number> } = {
      x: 1,
      m(this: { x: number }, y: number) {
        return this.x + y;
      },
    };
    o.m = b.protect(o.m);
    assert.equal(await o.m(2), 3);
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().totals.failures, 0);
    const bound = { x: 10, m: o.m };
    assert.equal(await bound.m(5), 15, 'the receiver is the one of each call');
  });

  test("execute('not a function') rejects with UsageError, a TypeError, and counts nowhere", async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    for (const bad of ['not a function', undefined, null, 42, {}]) {
      await assert.rejects(
        b.execute(bad as never),
        (e: unknown) =>
          e instanceof UsageError && e instanceof TypeError && /fn must be a function/.test(e.message),
      );
    }
    await assert.rejects(
      b.execute(() => 1, 'nope' as never),
      /signal must be an AbortSignal/,
    );
    const r = await b.tryExecute(7 as never);
    assert.ok(!r.ok && r.error instanceof UsageError);
    assert.equal(b.state, 'closed');
    assert.deepEqual(
      { calls: b.stats().totals.calls, failures: b.stats().totals.failures },
      { calls: 0, failures: 0 },
    );
  });

  test('a string passed as fn is quoted by its first 40 code points, never half an emoji', async () => {
    const b = new CircuitBreaker();
    // 'x' first: 40 UTF-16 units would end inside the 20th emoji.
    await assert.rejects(b.execute(`x${'😀'.repeat(100)}` as never), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.ok(e.message.includes(`a string ("x${'😀'.repeat(39)}")`), e.message);
      assert.doesNotMatch(e.message, /\\ud83d/);
      return true;
    });
  });

  test('protect(notAFunction) throws UsageError at once', () => {
    const b = new CircuitBreaker();
    assert.throws(() => b.protect('x' as never), UsageError);
  });

  test("a breaker around a policy that reports the caller's misuse does not count it, nor does retry retry it", async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    let attempts = 0;
    const inner = retry({ maxAttempts: 5, backoff: { initial: 0 } });
    await assert.rejects(
      b.execute(() => {
        attempts++;
        return inner.execute('oops' as never);
      }),
      UsageError,
    );
    assert.equal(attempts, 1);
    assert.equal(b.state, 'closed');
    for (const policy of [
      inner,
      bulkhead({ maxConcurrent: 1 }),
      timeout(1_000),
      fallback('fb'),
      pipeline(retry(), timeout(1_000)),
      chaos(),
    ]) {
      await assert.rejects(policy.execute(123 as never), UsageError, policy.constructor.name);
    }
  });
});

describe('async callbacks: a rejection is contained like a throw (item 2)', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));

  test('async on() handlers and listener methods that reject change no outcome', async () => {
    const seen: string[] = [];
    const b = new CircuitBreaker({
      failMax: 1,
      listeners: [
        {
          async stateChange() {
            throw new Error('listener stateChange');
          },
          async failure() {
            throw new Error('listener failure');
          },
          async rejected() {
            throw new Error('listener rejected');
          },
        },
      ],
    });
    b.on('success', async () => {
      seen.push('success');
      throw new Error('x');
    });
    b.on('ignored', async () => {
      throw new Error('ignored handler');
    });
    assert.equal(await b.execute(() => 1), 1);
    await assert.rejects(
      b.execute(() => Promise.reject(new Error('down'))),
      /down/,
    );
    assert.equal(b.state, 'open');
    await assert.rejects(
      b.execute(() => 1),
      /is open/,
    );
    assert.deepEqual(seen, ['success']);
    await assertNoUnhandled();
  });

  test('retry onRetry and registry onCreate/onRemove may be async and reject', async () => {
    const r = retry({
      maxAttempts: 2,
      backoff: { initial: 0 },
      onRetry: async () => {
        throw new Error('onRetry');
      },
    });
    let n = 0;
    assert.equal(await r.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok')), 'ok');
    const registry = new BreakerRegistry({
      maxKeyed: 1,
      onCreate: async () => {
        throw new Error('onCreate');
      },
      onRemove: async () => {
        throw new Error('onRemove');
      },
    });
    registry.keyed('m', 'a');
    registry.keyed('m', 'b'); // evicts a
    assert.equal(registry.delete('m:b'), true);
    await assertNoUnhandled();
  });

  test('an openDuration function that returns a rejected promise falls back to the default, contained', async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      openDuration: (() => Promise.reject(new Error('async duration'))) as never,
    });
    await assert.rejects(b.execute(() => Promise.reject(new Error('down'))));
    assert.equal(b.state, 'open');
    assert.ok(b.retryAfter > 0);
    await assertNoUnhandled();
  });

  test('async predicates are refused at construction, naming the option', () => {
    const asyncPredicate = async () => true;
    for (const options of [
      { exclude: [asyncPredicate] },
      { include: [asyncPredicate] },
      { isFailureResult: asyncPredicate },
      { shouldTrip: asyncPredicate },
    ]) {
      assert.throws(
        () => new CircuitBreaker(options as never),
        (e: unknown) => e instanceof TypeError && /must be a synchronous function/.test((e as Error).message),
      );
    }
    assert.throws(
      () => retry({ shouldRetry: (async () => true) as never }),
      /retry shouldRetry must be a synchronous/,
    );
  });

  test('a predicate that returns a promise is a UsageError at the call, never read as truthy', async () => {
    const promising = () => Promise.reject(new Error('async answer')) as unknown as boolean;
    const ex = new CircuitBreaker({ failMax: 1, exclude: [promising] });
    await assert.rejects(
      ex.execute(() => Promise.reject(new Error('down'))),
      (e: unknown) =>
        e instanceof UsageError && /exclude\[0\] must be synchronous/.test((e as Error).message),
    );
    assert.equal(ex.state, 'closed', 'the call was recorded as neither');
    assert.equal(ex.stats().totals.ignored, 1);

    const inc = new CircuitBreaker({ failMax: 1, include: [promising] });
    await assert.rejects(
      inc.execute(() => Promise.reject(new Error('down'))),
      /include\[0\]/,
    );
    assert.equal(inc.state, 'closed');

    const ifr = new CircuitBreaker({ failMax: 1, isFailureResult: promising });
    await assert.rejects(
      ifr.execute(() => 'value'),
      /isFailureResult must be synchronous/,
    );
    assert.equal(ifr.state, 'closed');

    const st = new CircuitBreaker({ shouldTrip: promising });
    await assert.rejects(
      st.execute(() => Promise.reject(new Error('down'))),
      /shouldTrip must be synchronous/,
    );
    assert.equal(st.state, 'closed', 'a promise is not read as "trip"');

    const r = retry({ maxAttempts: 3, backoff: { initial: 0 }, shouldRetry: promising });
    await assert.rejects(
      r.execute(() => Promise.reject(new Error('down'))),
      /retry shouldRetry must be synchronous/,
    );
    const fb = fallback('fb', { when: promising });
    await assert.rejects(
      fb.execute(() => Promise.reject(new Error('down'))),
      /fallback when must be synchronous/,
    );
    await assertNoUnhandled();
  });

  test('a HALF-OPEN probe whose classification was misused gives its slot back', async () => {
    const promising = () => Promise.resolve(true) as unknown as boolean;
    const b = new CircuitBreaker({ failMax: 1, openDuration: 0, isFailureResult: promising });
    b.open();
    assert.equal(b.state, 'half-open');
    await assert.rejects(
      b.execute(() => 'probe'),
      UsageError,
    );
    assert.equal(b.stats().halfOpen?.inFlight, 0);
    await assert.rejects(
      b.execute(() => 'again'),
      UsageError,
      'a probe is admitted again (not CircuitOpenError)',
    );
  });
});

describe('permits classify like execute (item 4)', () => {
  test('failure(excluded) is ignored; failure(err) outside include is ignored', async () => {
    const b = new CircuitBreaker({ failMax: 1, exclude: [Excluded] });
    (await b.acquirePermit()).failure(new Excluded('bad request'));
    assert.equal(b.state, 'closed');
    assert.equal(b.stats().totals.ignored, 1);
    (await b.acquirePermit()).failure(new Error('down'));
    assert.equal(b.state, 'open');

    const only = new CircuitBreaker({ failMax: 1, include: [Excluded] });
    (await only.acquirePermit()).failure(new Error('not included'));
    assert.equal(only.state, 'closed');
    (await only.acquirePermit()).failure(new Excluded('included'));
    assert.equal(only.state, 'open');
  });

  test('failure() without an error counts; recordFailure(err) counts unconditionally', async () => {
    const b = new CircuitBreaker({ failMax: 1, exclude: [Excluded] });
    (await b.acquirePermit()).failure();
    assert.equal(b.state, 'open');
    const r = new CircuitBreaker({ failMax: 1, exclude: [Excluded] });
    r.recordFailure(new Excluded('counted anyway'));
    assert.equal(r.state, 'open');
  });

  test('an excluded failure on a HALF-OPEN probe permit frees the slot without closing or reopening', async () => {
    const b = new CircuitBreaker({ failMax: 1, openDuration: 0, exclude: [Excluded] });
    b.open();
    const p = await b.acquirePermit();
    await assert.rejects(b.acquirePermit(), /half-open/);
    p.failure(new Excluded('bad request'));
    assert.equal(b.state, 'half-open');
    (await b.acquirePermit()).success();
    assert.equal(b.state, 'closed');
  });
});
