import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, type CircuitBreakerStats } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const down = new Error('down');

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

type TimerFn = (...args: never[]) => unknown;
const timerNames = ['setTimeout', 'setInterval', 'setImmediate'] as const;

/** Counts timers scheduled while `body` runs by wrapping the global timer functions. */
function spyTimers(): { count: () => number; restore: () => void } {
  const g = globalThis as unknown as Record<string, TimerFn>;
  const saved = timerNames.map((name) => g[name]!);
  let n = 0;
  timerNames.forEach((name, i) => {
    const original = saved[i]!;
    g[name] = (...args: never[]) => {
      n++;
      return original(...args);
    };
  });
  return {
    count: () => n,
    restore: () => {
      timerNames.forEach((name, i) => {
        g[name] = saved[i]!;
      });
    },
  };
}

function countTimerCalls(body: () => void): number {
  const spy = spyTimers();
  try {
    body();
  } finally {
    spy.restore();
  }
  return spy.count();
}

async function countTimerCallsAsync(body: () => Promise<void>): Promise<number> {
  const spy = spyTimers();
  try {
    await body();
  } finally {
    spy.restore();
  }
  return spy.count();
}

describe('stats()', () => {
  test('a new breaker reports the full shape with zeroed figures', () => {
    const b = new CircuitBreaker({ name: 'llm' });
    const s = b.stats();
    assert.deepEqual(Object.keys(s).sort(), [
      'failCount',
      'generation',
      'halfOpen',
      'lastFailure',
      'lastFailureAt',
      'latency',
      'name',
      'openUntil',
      'retryAfter',
      'state',
      'store',
      'totals',
      'window',
    ]);
    assert.equal(s.name, 'llm');
    assert.equal(s.state, 'closed');
    assert.equal(s.failCount, 0);
    assert.equal(s.lastFailureAt, null);
    assert.equal(s.lastFailure, null);
    assert.equal(s.retryAfter, 0);
    assert.equal(s.openUntil, null);
    assert.equal(s.halfOpen, null);
    assert.equal(s.window, null);
    assert.equal(s.latency, null);
    assert.deepEqual(s.store, { kind: 'memory', status: 'connected' });
    assert.deepEqual(s.totals, {
      calls: 0,
      successes: 0,
      failures: 0,
      rejections: 0,
      ignored: 0,
      timeouts: 0,
      openings: 0,
    });
  });

  test('figures follow a trip, rejections, a probe and recovery', async () => {
    const clock = new ManualClock(10_000);
    const b = new CircuitBreaker({ failMax: 2, openDuration: 5_000, clock });
    await b.execute(() => 1);
    await assert.rejects(b.execute(() => Promise.reject(down)));
    clock.advance(100);
    await assert.rejects(b.execute(() => Promise.reject(down)));
    let s: CircuitBreakerStats = b.stats();
    assert.equal(s.state, 'open');
    assert.equal(s.lastFailureAt, 10_100);
    assert.deepEqual(s.lastFailure, { name: 'Error', message: 'down' });
    assert.equal(s.openUntil, 15_100);
    assert.equal(s.retryAfter, 5_000);
    clock.advance(1_000);
    await assert.rejects(b.execute(() => 1));
    await assert.rejects(b.execute(() => 1));
    s = b.stats();
    assert.equal(s.retryAfter, 4_000);
    assert.equal(s.totals.calls, 3, 'rejected calls are not calls');
    assert.equal(s.totals.successes, 1);
    assert.equal(s.totals.failures, 2);
    assert.equal(s.totals.rejections, 2);
    assert.equal(s.totals.openings, 1);
    clock.advance(4_000);
    s = b.stats();
    assert.equal(s.state, 'half-open', 'stats() performs the lazy transition too');
    assert.deepEqual(s.halfOpen, { inFlight: 0, successes: 0 });
    assert.equal(s.openUntil, null);
    await b.execute(() => 'probe');
    s = b.stats();
    assert.equal(s.state, 'closed');
    assert.equal(s.failCount, 0);
    assert.equal(s.totals.calls, 4);
    assert.equal(s.totals.successes, 2);
    assert.equal(s.lastFailureAt, 10_100, 'lastFailureAt survives recovery');
  });

  test('a non-Error failure is summarised as a string', async () => {
    const b = new CircuitBreaker();
    await assert.rejects(b.execute(() => Promise.reject('plain string')));
    assert.deepEqual(b.stats().lastFailure, { name: 'string', message: 'plain string' });
  });

  test('stats() is a plain snapshot: later calls do not change an earlier one', async () => {
    const b = new CircuitBreaker();
    const before = b.stats();
    const copy = structuredClone(before);
    await b.execute(() => 1);
    assert.deepEqual(before, copy);
    assert.equal(b.stats().totals.calls, 1);
  });
});

describe('memory and timers', () => {
  test('10,000 idle default breakers create zero timers', () => {
    const before = activeTimers();
    const breakers: CircuitBreaker[] = [];
    const scheduled = countTimerCalls(() => {
      for (let i = 0; i < 10_000; i++) breakers.push(new CircuitBreaker({ name: `b${i}` }));
      for (const b of breakers) {
        assert.equal(b.state, 'closed');
        b.stats();
      }
    });
    assert.equal(activeTimers(), before);
    // Also catches unref()'d timers, which getActiveResourcesInfo() does not list.
    assert.equal(scheduled, 0);
  });

  test('state changes schedule no timers either (transitions are lazy)', async () => {
    let now = 0;
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock: { now: () => now } });
    const scheduled = await countTimerCallsAsync(async () => {
      await assert.rejects(b.execute(() => Promise.reject(down)));
      b.isolate();
      b.open();
      now += 1_000;
      assert.equal(b.state, 'half-open');
      await b.execute(() => 'probe');
    });
    assert.equal(scheduled, 0);
  });

  test('open breakers and breakers with a timeout option create no timers while idle or open', async () => {
    const before = activeTimers();
    const breakers: CircuitBreaker[] = [];
    for (let i = 0; i < 1_000; i++) {
      const b = new CircuitBreaker({ timeout: 60_000, failMax: 1, openDuration: 60_000 });
      b.open();
      breakers.push(b);
    }
    for (const b of breakers) await assert.rejects(b.execute(() => 1));
    assert.equal(activeTimers(), before);
  });

  test('100,000 calls do not grow any array, map or set held by the breaker, nor its stats', async () => {
    const clock = new ManualClock(1_000_000);
    let events = 0;
    const b = new CircuitBreaker({
      failMax: 3,
      failWindow: 30_000,
      failureRate: { threshold: 0.9, minimumCalls: 50, window: 10_000 },
      slowCall: { duration: 50, rateThreshold: 1 },
      listeners: [{ failure: () => events++, success: () => events++, stateChange: () => events++ }],
      clock,
    });
    b.on('rejected', () => events++);
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        clock.advance(3);
        if (i % 10 === 9) {
          const r = await b.tryExecute(() => Promise.reject(down));
          assert.equal(r.ok, false);
        } else {
          await b.execute(() => i);
        }
        if (i % 5_000 === 4_999) {
          b.open(); // visit the other states too
          await assert.rejects(b.execute(() => 0));
          b.close();
        }
      }
    };
    await run(10_000);
    const sizeA = heldSize(b);
    const statsA = b.stats();
    await run(100_000);
    const sizeB = heldSize(b);
    const statsB = b.stats();
    assert.ok(events > 100_000, 'listeners really ran');
    assert.equal(statsB.state, 'closed');
    assert.equal(sizeB, sizeA, 'collections held by the breaker must not grow with calls');
    assert.deepEqual(shape(statsB), shape(statsA));
    // Only digits of counters may grow; the snapshot stays the same size otherwise.
    assert.ok(JSON.stringify(statsB).length - JSON.stringify(statsA).length < 100);
    assert.equal(statsB.latency?.count, statsB.totals.calls);
  });
});

/** Total element count of arrays, typed arrays, maps, sets and object keys reachable from the breaker. */
function heldSize(root: object): number {
  const seen = new Set<unknown>();
  let total = 0;
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== 'object' || seen.has(value) || depth > 6) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) {
      total += (value as unknown as { length: number }).length;
      return;
    }
    if (value instanceof Map || value instanceof Set) {
      total += value.size;
      for (const v of value.values()) visit(v, depth + 1);
      return;
    }
    const entries = Array.isArray(value) ? value : Object.values(value);
    total += entries.length;
    for (const v of entries) visit(v, depth + 1);
  };
  visit(root, 0);
  return total;
}

/** The key structure of a value (no numbers), to compare snapshots taken at different times. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [c]) => a.localeCompare(c))
      .map(([k, v]) => [k, shape(v)]),
  );
}
