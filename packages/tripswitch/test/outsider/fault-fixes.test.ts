// The outsider review's faults (FAULTS.md, issue 12), each a test that failed before its fix.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from '../../src/core/breaker.js';
import { LatencyHistogram } from '../../src/core/latency.js';
import { MAX_TIMER_MS } from '../../src/core/options.js';
import { describeError } from '../../src/core/user-code.js';
import { classifyError, isHttpFailure, isRetryable } from '../../src/http/classify-error.js';
import { parseRetryAfter, parseRetryAfterValue } from '../../src/http/retry-after.js';
import { loggingListener } from '../../src/integrations/logging.js';
import { fallback } from '../../src/policies/fallback.js';
import { retry } from '../../src/policies/retry.js';
import { BreakerRegistry, MAX_KEY_LENGTH } from '../../src/registry.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const fail = (b: CircuitBreaker, err: unknown = new Error('down')) =>
  b.execute(() => Promise.reject(err)).catch(() => {});

/** Hostile thrown values: none of them may make the library itself throw. */
function hostiles(): unknown[] {
  const getterMessage = new Error('x');
  Object.defineProperty(getterMessage, 'message', {
    get() {
      throw new Error('message getter');
    },
  });
  const getterCode = new Error('x');
  Object.defineProperty(getterCode, 'code', {
    get() {
      throw new Error('code getter');
    },
  });
  const getterName = new Error('x');
  Object.defineProperty(getterName, 'name', {
    get() {
      throw new Error('name getter');
    },
  });
  const trap = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('proto trap');
      },
    },
  );
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const badToString = {
    toString() {
      throw new Error('toString');
    },
  };
  const cause = new Error('outer', { cause: getterCode });
  return [
    Object.create(null),
    getterMessage,
    getterCode,
    getterName,
    trap,
    revoked,
    badToString,
    cause,
    undefined,
  ];
}

describe('F16: a truthy predicate answer means yes', () => {
  test('exclude, include, isFailureResult and shouldTrip read truthy as true', async () => {
    const coded = Object.assign(new Error('bad request'), { code: 'E_VALIDATION' });
    // biome-ignore lint/suspicious/noExplicitAny: a plain-JS caller's predicate
    const code = ((e: any) => e.code) as unknown as (e: unknown) => boolean;
    const excluded = new CircuitBreaker({ failMax: 1, exclude: [code] });
    await fail(excluded, coded);
    assert.equal(excluded.state, 'closed', 'an excluded error must not trip');

    const included = new CircuitBreaker({ failMax: 1, include: [code] });
    await fail(included, coded);
    assert.equal(included.state, 'open', 'an included error trips');

    // biome-ignore lint/suspicious/noExplicitAny: a plain-JS caller's predicate
    const marker = ((r: any) => r.error) as unknown as (r: unknown) => boolean;
    const results = new CircuitBreaker({ failMax: 1, isFailureResult: marker });
    await results.execute(() => ({ error: 'upstream said no' }));
    assert.equal(results.state, 'open', 'a truthy isFailureResult marks a failure');

    const trip = new CircuitBreaker({ shouldTrip: (c) => c.consecutiveFailures as unknown as boolean });
    await fail(trip);
    assert.equal(trip.state, 'open', 'a truthy shouldTrip trips');
  });
});

describe('F6: an openDuration function is held to the same range as the option', () => {
  for (const [label, answer, expected] of [
    ['Infinity', Number.POSITIVE_INFINITY, 30_000],
    ['NaN', Number.NaN, 30_000],
    ['negative', -5, 30_000],
    ['2**60', 2 ** 60, MAX_TIMER_MS],
  ] as const) {
    test(`${label} → ${expected === MAX_TIMER_MS ? 'clamped' : 'the default'}`, () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ failMax: 1, clock, openDuration: () => answer });
      b.recordFailure(new Error('down'));
      assert.equal(b.retryAfter, expected);
      assert.ok(Number.isFinite(b.stats().retryAfter));
      clock.advance(expected);
      assert.equal(b.state, 'half-open', 'the circuit leaves OPEN by itself');
    });
  }
  test('a numeric openDuration beyond a timer’s range is a RangeError naming it', () => {
    assert.throws(() => new CircuitBreaker({ openDuration: Number.POSITIVE_INFINITY }), /openDuration/);
    assert.throws(() => new CircuitBreaker({ openDuration: MAX_TIMER_MS + 1 }), /openDuration/);
  });
});

describe('F4: failMax with failWindow is bounded (its ring holds failMax timestamps)', () => {
  test('a RangeError naming failMax and its range, no allocation', () => {
    for (const failMax of [50_000_000, 2 ** 53]) {
      assert.throws(
        () => new CircuitBreaker({ failMax, failWindow: 1_000 }),
        (e: unknown) =>
          e instanceof RangeError && /failMax must be an integer in \[1, 100000\]/.test(e.message),
      );
    }
    assert.doesNotThrow(() => new CircuitBreaker({ failMax: 100_000, failWindow: 1_000 }));
    assert.doesNotThrow(
      () => new CircuitBreaker({ failMax: 2 ** 40 }),
      'without a window nothing is allocated',
    );
  });
});

describe('options friction: typos, wrong-typed flags, null listeners', () => {
  test('an unknown key is a TypeError naming it', () => {
    assert.throws(
      () => new CircuitBreaker({ failmax: 1 } as never),
      (e: unknown) => {
        return e instanceof TypeError && e.message.includes('"failmax"');
      },
    );
  });
  test('non-boolean disabled / recordLatency are TypeErrors naming the option', () => {
    assert.throws(() => new CircuitBreaker({ disabled: 'yes' } as never), /disabled must be a boolean/);
    assert.throws(
      () => new CircuitBreaker({ recordLatency: 'no' } as never),
      /recordLatency must be a boolean/,
    );
  });
  test('listeners: [null] names listeners[0]', () => {
    assert.throws(
      () => new CircuitBreaker({ listeners: [null] as never }),
      (e: unknown) => e instanceof TypeError && e.message.startsWith('listeners[0]'),
    );
  });
});

describe('F17: histogram counters do not wrap at 2^32', () => {
  test('more than 2^32 samples in one bucket keep the percentiles in that bucket', () => {
    const h = new LatencyHistogram();
    h.record(5, 2 ** 32 + 10); // a Uint32 counter would hold 10 here
    h.record(5_000, 100);
    const s = h.summary();
    assert.ok(s !== null);
    assert.equal(s.count, 2 ** 32 + 110);
    assert.ok(s.p50 >= 4.75 && s.p50 <= 5.25, `p50 ${s.p50}`);
    assert.ok(s.p99 >= 4.75 && s.p99 <= 5.25, `p99 ${s.p99} (a wrapped counter reports the 5 s bucket)`);
  });
});

describe('F11: classifyError never throws', () => {
  test('hostile values are unknown; isHttpFailure / isRetryable answer false', () => {
    for (const value of hostiles()) {
      const c = classifyError(value);
      if (value !== undefined && value !== null) assert.equal(typeof c.reason, 'string');
      assert.doesNotThrow(() => isHttpFailure(value));
      assert.doesNotThrow(() => isRetryable(value));
    }
    const e = new Error('x');
    Object.defineProperty(e, 'code', {
      get() {
        throw new Error('code getter');
      },
    });
    assert.equal(classifyError(e).reason, 'unknown');
    assert.equal(
      classifyError(
        new Proxy(
          {},
          {
            get: () => {
              throw new Error('trap');
            },
          },
        ),
      ).reason,
      'unknown',
    );
  });
});

describe('F12: Retry-After is parsed strictly', () => {
  const now = Date.parse('2026-11-30T18:00:00Z');
  test('junk with letters is not a date; huge numbers are not Infinity', () => {
    for (const junk of [
      'x 2030',
      'Z 12',
      'A 1',
      'Tue 2026',
      'December 1, 2026',
      '2026-12-01T18:00:00Z',
      'Tue, 01 Dec 2026',
    ]) {
      assert.equal(parseRetryAfterValue(junk, now), undefined, junk);
    }
    const nines = '9'.repeat(400);
    assert.equal(parseRetryAfterValue(nines, now), undefined);
    assert.equal(parseRetryAfter({ 'retry-after': nines }, now), undefined);
    assert.equal(parseRetryAfter({ 'retry-after-ms': nines }, now), undefined);
    assert.equal(parseRetryAfter({ 'x-ratelimit-reset-requests': `${nines}s` }, now), undefined);
  });
  test('the three HTTP-date grammars (asctime is GMT)', () => {
    assert.equal(parseRetryAfterValue('Tue, 01 Dec 2026 18:00:00 GMT', now), 86_400_000);
    assert.equal(parseRetryAfterValue('Tuesday, 01-Dec-26 18:00:00 GMT', now), 86_400_000);
    assert.equal(parseRetryAfterValue('Tue Dec  1 18:00:00 2026', now), 86_400_000);
    assert.equal(parseRetryAfterValue('Sun Nov  6 08:49:37 1994', now), 0);
  });
});

describe('F10: a throwing retry shouldRetry / fallback when cannot replace the upstream error', () => {
  const upstream = new Error('upstream');
  test('retry gives up with the upstream error', async () => {
    let calls = 0;
    const policy = retry({
      maxAttempts: 3,
      backoff: { initial: 1 },
      shouldRetry: () => {
        throw new Error('predicate bug');
      },
    });
    await assert.rejects(
      policy.execute(() => {
        calls++;
        throw upstream;
      }),
      (e) => e === upstream,
    );
    assert.equal(calls, 1, 'a throw cannot decide: no retry');
  });
  test('an error whose retryable getter throws is retried like any other', async () => {
    const odd = new Error('odd');
    Object.defineProperty(odd, 'retryable', {
      get() {
        throw new Error('getter');
      },
    });
    await assert.rejects(
      retry({ maxAttempts: 2, backoff: { initial: 1 } }).execute(() => {
        throw odd;
      }),
      (e) => e === odd,
    );
  });
  test('fallback lets the upstream error through; an async when is refused at construction', async () => {
    const policy = fallback('fb', {
      when: () => {
        throw new Error('predicate bug');
      },
    });
    await assert.rejects(
      policy.execute(() => {
        throw upstream;
      }),
      (e) => e === upstream,
    );
    assert.throws(
      () => fallback('fb', { when: (async () => true) as never }),
      /fallback when must be a synchronous/,
    );
    assert.equal(
      await fallback('fb', { when: () => 1 as unknown as boolean }).execute(() => Promise.reject(upstream)),
      'fb',
    );
  });
});

describe('F5: stats() and the logging listener never throw on hostile errors', () => {
  test('every hostile failure leaves stats() readable and a log line written', async () => {
    for (const value of hostiles()) {
      const lines: object[] = [];
      const log = (obj: object) => void lines.push(obj);
      const b = new CircuitBreaker({
        failMax: 1,
        listeners: [loggingListener({ info: log, warn: log, error: log })],
      });
      await fail(b, value);
      const stats = b.stats();
      if (stats.state !== 'open') continue; // a Proxy whose prototype trap throws cannot even be classified
      assert.equal(typeof stats.lastFailure?.message, 'string');
      assert.ok(
        lines.some((l) => 'error' in l && typeof (l as { error: { name: unknown } }).error.name === 'string'),
        'the failure was logged',
      );
    }
  });
  test('describeError gives strings for every value', () => {
    for (const value of hostiles()) {
      const d = describeError(value);
      assert.equal(typeof d.name, 'string');
      assert.equal(typeof d.message, 'string');
    }
  });
});

describe('registry', () => {
  test('F14: an onCreate hook that looks its breaker up finds it (one breaker per name)', () => {
    const r = new BreakerRegistry();
    const created: CircuitBreaker[] = [];
    const seen: CircuitBreaker[] = [];
    r.onCreate((b) => {
      created.push(b);
      seen.push(b.name.includes(':') ? r.keyed('k', 'x') : r.get(b.name));
    });
    const named = r.get('x');
    const keyed = r.keyed('k', 'x');
    assert.deepEqual(created, [named, keyed]);
    assert.deepEqual(seen, [named, keyed]);
  });

  test('F3: idle breakers that tripped long ago are evicted; the bound holds', async () => {
    const clock = new ManualClock(0);
    const r = new BreakerRegistry({ maxKeyed: 10, defaults: { failMax: 1, clock, openDuration: 1_000 } });
    for (let i = 0; i < 200; i++) await fail(r.keyed('model', `k${i}`));
    assert.ok(r.keyedSize <= 20, `hard cap 2 × maxKeyed while all are open, got ${r.keyedSize}`);
    clock.advance(1e9); // every one idles in HALF-OPEN now
    r.keyed('model', 'fresh');
    assert.equal(r.keyedSize, 10);
    assert.ok(r.has('model:fresh'));
  });

  test('F13: names cannot collide', () => {
    const r = new BreakerRegistry();
    assert.throws(() => r.keyed('a:b', 'c'), /prefix must not contain ":"/);
    assert.throws(() => r.get('p:k'), /name must not contain ":"/);
    const k = r.keyed('p', 'k');
    assert.equal(r.get('p:k'), k, 'an existing keyed breaker may still be looked up by its full name');
    assert.notEqual(r.keyed('a', 'b:c'), r.keyed('a', 'b'));
  });

  test('keyed key length is bounded', () => {
    const r = new BreakerRegistry();
    assert.doesNotThrow(() => r.keyed('p', 'x'.repeat(MAX_KEY_LENGTH)));
    assert.throws(() => r.keyed('p', 'x'.repeat(MAX_KEY_LENGTH + 1)), RangeError);
  });
});

describe('breaker state machine faults (F1, F2, F7, F8, F9, F15)', () => {
  test('F1: a hung probe noticed late was written off at its deadline', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, clock, openDuration: 1_000, halfOpenTimeout: 1_000 });
    b.recordFailure(new Error('down'));
    clock.advance(1_000);
    void b.execute(() => new Promise(() => {}));
    clock.advance(9_000);
    const r = await b.tryExecute(() => 'probe');
    assert.deepEqual(r, { ok: true, value: 'probe' });
  });

  test('F2: a written-off probe that settles later is counted once', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, clock, openDuration: 1_000, halfOpenTimeout: 1_000 });
    const events: string[] = [];
    b.on('failure', () => events.push('failure'));
    b.on('success', () => events.push('success'));
    await fail(b);
    clock.advance(1_000);
    let release!: (v: string) => void;
    const probe = b.execute(() => new Promise<string>((r) => (release = r)));
    clock.advance(1_000);
    void b.state;
    release('late');
    assert.equal(await probe, 'late');
    const t = b.stats().totals;
    assert.equal(t.calls, 2);
    assert.equal(t.failures + t.successes, 2);
    assert.deepEqual(events, ['failure', 'failure']);
  });

  test('F7: open() on an open circuit is not a new opening', () => {
    const seen: number[] = [];
    const b = new CircuitBreaker({
      openDuration: ({ openings }) => {
        seen.push(openings);
        return 1_000;
      },
    });
    let changes = 0;
    b.on('stateChange', () => changes++);
    b.open();
    b.open();
    b.open();
    assert.deepEqual(seen, [1, 1, 1]);
    assert.equal(b.stats().totals.openings, 1);
    assert.equal(changes, 1);
  });

  test('F8: tryExecute with an aborted signal while OPEN is like execute', async () => {
    const b = new CircuitBreaker();
    b.open();
    const c = new AbortController();
    const mine = new Error('mine');
    c.abort(mine);
    await assert.rejects(
      b.execute(() => 1, c.signal),
      (e) => e === mine,
    );
    const r = await b.tryExecute(() => 1, c.signal);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error, mine);
    assert.equal(b.stats().totals.rejections, 0);
  });

  test('F9: calls in flight across reset() are not added to the new totals', async () => {
    for (const b of [
      new CircuitBreaker(),
      new CircuitBreaker({ timeout: 60_000 }),
      new CircuitBreaker({ recordLatency: true }),
    ]) {
      const releases: (() => void)[] = [];
      const calls = [1, 2, 3].map(() =>
        b.execute(() => new Promise<number>((r) => releases.push(() => r(1)))),
      );
      b.reset();
      for (const r of releases) r();
      await Promise.all(calls);
      const t = b.stats().totals;
      assert.ok(t.successes <= t.calls, `successes ${t.successes} > calls ${t.calls}`);
      assert.equal(t.successes, 0);
    }
  });

  test('F15: throw undefined is recorded as lastFailure', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    await b
      .execute(() => {
        throw undefined;
      })
      .catch(() => {});
    assert.deepEqual(b.stats().lastFailure, { name: 'undefined', message: 'undefined' });
    b.reset();
    assert.equal(b.stats().lastFailure, null);
  });
});
