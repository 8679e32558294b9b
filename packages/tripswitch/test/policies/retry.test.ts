import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { BulkheadRejectedError, CircuitOpenError, RetryBudgetExhaustedError } from '../../src/core/errors.js';
import { RetryBudget, type RetryInfo, type RetryOptions, retry } from '../../src/policies/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Runs an always-failing operation through a retry policy and returns the delays it chose. */
async function delaysOf(options: RetryOptions): Promise<number[]> {
  const delays: number[] = [];
  const policy = retry({ ...options, onRetry: (info) => delays.push(info.delay) });
  await assert.rejects(
    policy.execute(() => Promise.reject(new Error('down'))),
    /down/,
  );
  return delays;
}

/** A sequence of "random" numbers, repeated. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('retry policy', () => {
  test('retries until success and passes the attempt number', async () => {
    const attempts: number[] = [];
    const policy = retry({ maxAttempts: 5, backoff: { initial: 1, jitter: 'none' } });
    const result = await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'third time';
    });
    assert.equal(result, 'third time');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  test('rethrows the last error unchanged when attempts run out', async () => {
    let calls = 0;
    const policy = retry({ maxAttempts: 3, backoff: { initial: 1, jitter: 'none' } });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw new Error(`fail ${calls}`);
      }),
      /fail 3/,
    );
    assert.equal(calls, 3);
  });

  test('backoff without jitter: initial × multiplier^n, capped at max', async () => {
    const delays = await delaysOf({
      maxAttempts: 6,
      backoff: { initial: 1, multiplier: 2, max: 8, jitter: 'none' },
    });
    assert.deepEqual(delays, [1, 2, 4, 8, 8]);
  });

  test('full jitter: random × the exponential delay', async () => {
    const delays = await delaysOf({
      maxAttempts: 5,
      backoff: { initial: 4, multiplier: 3, max: 50, jitter: 'full' },
      random: sequence(0.5, 0.25, 0, 0.1),
    });
    // exponential: 4, 12, 36, 50 (capped)
    assert.deepEqual(delays, [2, 3, 0, 5]);
  });

  test('decorrelated jitter: uniform in [initial, previous × multiplier], capped', async () => {
    const delays = await delaysOf({
      maxAttempts: 5,
      backoff: { initial: 2, multiplier: 3, max: 20, jitter: 'decorrelated' },
      random: sequence(1, 1, 0.5, 0),
    });
    // prev 2 → upper 6 → 2 + 1×4 = 6; upper 18 → 18; upper min(20, 54) = 20 → 2 + 0.5×18 = 11; → 2
    assert.deepEqual(delays, [6, 18, 11, 2]);
  });

  test('never retries policy rejections, non-retryable errors or what shouldRetry refuses', async () => {
    const cases: [string, unknown, RetryOptions?][] = [
      ['circuit open', new CircuitOpenError('llm', 'open', 1000)],
      ['bulkhead full', new BulkheadRejectedError(1, 0)],
      ['inner budget spent', new RetryBudgetExhaustedError(new Error('x'))],
      ['retryable: false', Object.assign(new Error('quota exhausted'), { retryable: false })],
      [
        'shouldRetry false',
        new Error('bad request'),
        { shouldRetry: (err) => !/bad request/.test(String(err)) },
      ],
    ];
    for (const [label, error, options] of cases) {
      let calls = 0;
      const policy = retry({ maxAttempts: 4, backoff: { initial: 1 }, ...options });
      await assert.rejects(
        policy.execute(() => {
          calls++;
          throw error;
        }),
        (err) => err === error,
      );
      assert.equal(calls, 1, label);
    }
  });

  test('shouldRetry receives the error and the attempt that failed', async () => {
    const seen: [string, number][] = [];
    const policy = retry({
      maxAttempts: 3,
      backoff: { initial: 1 },
      shouldRetry: (err, attempt) => {
        seen.push([(err as Error).message, attempt]);
        return true;
      },
    });
    await assert.rejects(policy.execute(({ attempt }) => Promise.reject(new Error(`e${attempt}`))));
    assert.deepEqual(seen, [
      ['e1', 1],
      ['e2', 2],
    ]);
  });

  test('retryOnCircuitOpen retries a CircuitOpenError after its retryAfter', async () => {
    const delays: number[] = [];
    const policy = retry({
      maxAttempts: 2,
      backoff: { initial: 1, jitter: 'none' },
      retryOnCircuitOpen: true,
      onRetry: (info) => delays.push(info.delay),
    });
    const result = await policy.execute(({ attempt }) => {
      if (attempt === 1) throw new CircuitOpenError('llm', 'open', 15);
      return 'probe ok';
    });
    assert.equal(result, 'probe ok');
    assert.deepEqual(delays, [15]);
  });

  test('honours a Retry-After hint as the minimum delay', async () => {
    const delays = await delaysOf({
      maxAttempts: 3,
      backoff: { initial: 1, jitter: 'none' },
    });
    assert.deepEqual(delays, [1, 2]);
    const hinted: number[] = [];
    const policy = retry({
      maxAttempts: 3,
      backoff: { initial: 1, jitter: 'none' },
      onRetry: (info) => hinted.push(info.delay),
    });
    await assert.rejects(
      policy.execute(() => Promise.reject(Object.assign(new Error('429'), { retryAfter: 25 }))),
    );
    assert.deepEqual(hinted, [25, 25]);
  });

  test('a hint above maxRetryAfter ends the loop with that error', async () => {
    let calls = 0;
    const error = Object.assign(new Error('model loading'), { retryAfter: 120_000 });
    const policy = retry({ maxAttempts: 5, backoff: { initial: 1 }, maxRetryAfter: 30_000 });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw error;
      }),
      (err) => err === error,
    );
    assert.equal(calls, 1);
  });

  test('honorRetryAfter: false ignores the hint', async () => {
    const delays: number[] = [];
    const policy = retry({
      maxAttempts: 2,
      backoff: { initial: 1, jitter: 'none' },
      honorRetryAfter: false,
      onRetry: (info) => delays.push(info.delay),
    });
    await assert.rejects(
      policy.execute(() => Promise.reject(Object.assign(new Error('x'), { retryAfter: 999_999 }))),
    );
    assert.deepEqual(delays, [1]);
  });

  test('the caller’s abort during the backoff sleep rejects with its reason at once and clears the timer', async () => {
    const caller = new AbortController();
    const reason = new Error('user cancelled');
    let calls = 0;
    const before = timers();
    const policy = retry({
      maxAttempts: 3,
      backoff: { initial: 60_000, jitter: 'none' },
      onRetry: () => queueMicrotask(() => caller.abort(reason)),
    });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw new Error('down');
      }, caller.signal),
      (err) => err === reason,
    );
    assert.equal(calls, 1);
    assert.equal(timers(), before, 'the sleep timer is cleared');
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
  });

  test('a failure after the caller aborted is not retried', async () => {
    const caller = new AbortController();
    let calls = 0;
    const policy = retry({ maxAttempts: 3, backoff: { initial: 1 } });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        caller.abort();
        throw new Error('aborted mid-call');
      }, caller.signal),
      /aborted mid-call/,
    );
    assert.equal(calls, 1);
  });

  test('budget exhaustion throws RetryBudgetExhaustedError carrying the last failure', async () => {
    const clock = new ManualClock(0);
    // Room for 0.5 retries per call and no floor: the first call may retry once, then the budget is spent.
    const policy = retry({
      maxAttempts: 5,
      backoff: { initial: 0, jitter: 'none' },
      budget: { ratio: 0.5, minPerSecond: 0, window: 1000 },
      clock,
    });
    let calls = 0;
    const last = new Error('down 2');
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw calls === 2 ? last : new Error('down 1');
      }),
      (err) => err instanceof RetryBudgetExhaustedError && err.cause === last,
    );
    assert.equal(calls, 2);
    // Second call: 2 calls allow 1.0 retries, 1 used → none. Third call: 1.5 allowed → one more retry.
    const attemptsOf = async (): Promise<number> => {
      let n = 0;
      await assert.rejects(
        policy.execute(() => Promise.reject(new Error(`again ${++n}`))),
        RetryBudgetExhaustedError,
      );
      return n;
    };
    assert.equal(await attemptsOf(), 1);
    assert.equal(await attemptsOf(), 2);
    // After the window the traffic is forgotten: a lone call gets 0.5 retries again.
    clock.advance(1000);
    assert.equal(await attemptsOf(), 2);
  });

  test('a shared RetryBudget forgets old traffic after its window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, window: 1000, clock });
    for (let i = 0; i < 10; i++) budget.recordCall();
    assert.ok(Math.abs(budget.available - 2) < 1e-9);
    assert.equal(budget.tryAcquire(), true);
    assert.equal(budget.tryAcquire(), true);
    assert.equal(budget.tryAcquire(), false);
    clock.advance(500);
    assert.equal(budget.tryAcquire(), false, 'still inside the window');
    clock.advance(600);
    assert.equal(budget.available, 0, 'everything older than the window is forgotten');
    budget.recordCall();
    budget.recordCall();
    budget.recordCall();
    budget.recordCall();
    budget.recordCall();
    assert.equal(budget.tryAcquire(), true);
    assert.equal(budget.tryAcquire(), false);
  });

  test('the budget floor allows minPerSecond × window retries with no traffic', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 2, window: 2000, clock });
    let granted = 0;
    while (budget.tryAcquire()) granted++;
    assert.equal(granted, 4);
    clock.advance(1000);
    assert.equal(budget.tryAcquire(), false, 'half the window later, the old retries still count');
    clock.advance(1000);
    assert.equal(budget.tryAcquire(), true);
  });

  test('onRetry reports each retry and its exceptions do not change the outcome', async () => {
    const infos: RetryInfo[] = [];
    const policy = retry({
      maxAttempts: 2,
      backoff: { initial: 1, jitter: 'none' },
      onRetry: (info) => {
        infos.push(info);
        throw new Error('observer bug');
      },
    });
    assert.equal(
      await policy.execute(({ attempt }) => (attempt === 1 ? Promise.reject(new Error('e')) : 'ok')),
      'ok',
    );
    assert.equal(infos.length, 1);
    assert.equal(infos[0]?.attempt, 1);
    assert.equal((infos[0]?.error as Error | undefined)?.message, 'e');
  });

  test('validates its options', () => {
    assert.throws(() => retry({ maxAttempts: 0 }), /maxAttempts must be an integer in \[1, 1000\]/);
    assert.throws(() => retry({ maxAttempts: 1.5 }), RangeError);
    assert.throws(() => retry({ backoff: { initial: -1 } }), /backoff.initial/);
    assert.throws(
      () => retry({ backoff: { initial: 100, max: 10 } }),
      /backoff.max must be >= backoff.initial/,
    );
    assert.throws(() => retry({ backoff: { multiplier: 0.5 } }), /backoff.multiplier/);
    assert.throws(() => retry({ backoff: { jitter: 'equal' as 'full' } }), TypeError);
    assert.throws(() => retry({ backoff: { initial: 0, jitter: 'decorrelated' } }), RangeError);
    assert.throws(() => retry({ budget: { ratio: -0.1 } }), /budget.ratio/);
    assert.throws(() => retry({ budget: { ratio: 0.2, window: 0 } }), /budget.window/);
    assert.throws(() => retry({ budget: { ratio: Number.NaN } }), RangeError);
    assert.throws(() => retry({ maxRetryAfter: -1 }), /maxRetryAfter/);
    assert.throws(() => retry({ shouldRetry: 'yes' as unknown as () => boolean }), TypeError);
  });
});
