import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TimeoutError } from 'tripswitch';
import { Deadline, DeadlineQueue, type DeadlineTimers } from '../../src/core/deadlines.js';
import { DeadlineExceeded, runWithDeadline } from '../../src/core/timed-call.js';
import { deferred, flush } from '../helpers/deferred.js';

/** Deterministic timers: time moves only by `advanceTo`, which fires due timers in order. */
class FakeTimers implements DeadlineTimers {
  time = 0;
  created = 0;
  refed = 0; // timers currently ref'ed
  private pending: Array<{ at: number; fn: () => void; live: boolean; refed: boolean }> = [];
  private deferred: Array<() => void> = [];
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }
  /** Ends the current event-loop turn: runs what was deferred to it. */
  turn(): void {
    const fns = this.deferred;
    this.deferred = [];
    for (const fn of fns) fn();
  }
  now(): number {
    return this.time;
  }
  set(fn: () => void, ms: number) {
    this.created++;
    const t = { at: this.time + ms, fn, live: true, refed: true };
    this.refed++;
    this.pending.push(t);
    const self = this;
    return {
      ref() {
        if (!t.refed && t.live) self.refed++;
        t.refed = true;
      },
      unref() {
        if (t.refed && t.live) self.refed--;
        t.refed = false;
      },
    };
  }
  get live(): number {
    return this.pending.filter((t) => t.live).length;
  }
  /** Fires every timer due at or before `to`, in due order, moving the time to each one. */
  advanceTo(to: number): void {
    this.turn();
    for (;;) {
      const due = this.pending.filter((t) => t.live && t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      due.live = false;
      if (due.refed) this.refed--;
      due.fn();
      this.turn();
    }
    this.time = to;
  }
}

class Entry extends Deadline {
  expired = 0;
  expire(): void {
    this.expired++;
  }
}

describe('DeadlineQueue', () => {
  test('one timer serves many deadlines; entries expire in order, each once', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(100, timers);
    const entries = Array.from({ length: 50 }, (_, i) => {
      timers.advanceTo(i);
      const e = new Entry();
      q.add(e);
      return e;
    });
    assert.equal(timers.created, 1, 'one timer for 50 pending deadlines');
    q.delete(entries[0]!);
    q.delete(entries[10]!);
    timers.advanceTo(120);
    assert.deepEqual(
      entries.map((e) => e.expired),
      entries.map((_, i) => (i !== 0 && i !== 10 && i + 100 <= 120 ? 1 : 0)),
    );
    timers.advanceTo(1000);
    assert.equal(q.size, 0);
    assert.deepEqual(
      entries.map((e) => e.expired),
      entries.map((_, i) => (i === 0 || i === 10 ? 0 : 1)),
    );
    assert.equal(timers.live, 0, 'no timer left once every deadline is gone');
    assert.ok(timers.created <= 49, `at most one wake-up per distinct due time (${timers.created})`);
  });

  test('calls that settle in time cost no timer: at most one per timeout period', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(100, timers);
    for (let i = 0; i < 10_000; i++) {
      const e = new Entry();
      q.add(e);
      if (i % 7 === 0) timers.advanceTo(timers.time + 1);
      q.delete(e);
    }
    const periods = Math.ceil(timers.time / 100) + 1;
    assert.ok(timers.created <= periods, `${timers.created} timers for 10,000 calls over ${periods} periods`);
  });

  test('the timer stops holding the process as soon as the last deadline is deleted, and is dropped when it fires', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(1000, timers);
    const a = new Entry();
    q.add(a);
    assert.equal(timers.refed, 1);
    q.delete(a);
    assert.equal(timers.refed, 1, "still ref'ed until the end of this turn (no toggling per call)");
    const again = new Entry();
    q.add(again);
    q.delete(again);
    timers.turn();
    assert.equal(timers.refed, 0, 'unref once the turn ends with nothing pending');
    assert.equal(q.armed, true);
    const b = new Entry();
    q.add(b);
    assert.equal(timers.refed, 1, 'ref again while a deadline is pending');
    assert.equal(timers.created, 1, 'the same timer is reused');
    q.delete(b);
    timers.advanceTo(5000);
    assert.equal(q.armed, false);
    assert.equal(a.expired + b.expired, 0);
  });

  test('an expiry that throws does not strand the other entries', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(10, timers);
    const bad = new (class extends Deadline {
      expire(): void {
        throw new Error('boom');
      }
    })();
    const good = new Entry();
    q.add(bad);
    q.add(good);
    timers.advanceTo(10);
    assert.equal(good.expired, 1);
  });

  test('re-adding an entry moves it to the back with a fresh deadline', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(10, timers);
    const a = new Entry();
    const b = new Entry();
    q.add(a);
    q.add(b);
    timers.advanceTo(5);
    q.add(a); // due at 15 now
    timers.advanceTo(12);
    assert.equal(b.expired, 1);
    assert.equal(a.expired, 0);
    timers.advanceTo(15);
    assert.equal(a.expired, 1);
    assert.equal(q.size, 0);
  });

  test("the clock is read once per event-loop turn, not per deadline; a turn's deadlines count from its end", () => {
    const timers = new FakeTimers();
    let reads = 0;
    const now = timers.now.bind(timers);
    timers.now = () => {
      reads++;
      return now();
    };
    const q = new DeadlineQueue(100, timers);
    const entries = Array.from({ length: 1000 }, () => new Entry());
    for (const e of entries) q.add(e);
    // The turn runs on for 30 ms of synchronous work before it ends: every deadline of it counts from its
    // end, so none can expire before 100 ms after it started (never early), at most 30 ms late.
    timers.time = 30;
    assert.ok(reads <= 1, `${reads} clock reads for 1,000 deadlines started in one turn`);
    timers.advanceTo(129);
    assert.equal(
      entries.filter((e) => e.expired > 0).length,
      0,
      'nothing expires before its turn ended + 100 ms',
    );
    timers.advanceTo(130);
    assert.equal(entries.filter((e) => e.expired === 1).length, 1000);
    assert.ok(reads <= 4, `${reads} clock reads in all`);
  });

  test('a deadline started by an expiry counts from its own turn, not the expired one', () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(100, timers);
    const second = new Entry();
    class Chained extends Entry {
      override expire(): void {
        super.expire();
        q.add(second); // started while the timer's turn runs
      }
    }
    const first = new Chained();
    q.add(first);
    timers.advanceTo(100);
    assert.equal(first.expired, 1);
    assert.equal(second.expired, 0, 'not expired at once by the turn that started it');
    timers.advanceTo(199);
    assert.equal(second.expired, 0);
    timers.advanceTo(200);
    assert.equal(second.expired, 1);
  });

  test('rejects nonsense lengths', () => {
    for (const ms of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      assert.throws(() => new DeadlineQueue(ms), RangeError);
    }
  });
});

describe('runWithDeadline', () => {
  test('no AbortController unless the operation reads its signal; a late read sees the abort', async () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(50, timers);
    const d = deferred<number>();
    let ctxSeen: { signal: AbortSignal } | undefined;
    const call = runWithDeadline(
      q,
      (ctx) => {
        ctxSeen = ctx;
        return d.promise;
      },
      undefined,
    );
    timers.advanceTo(50);
    const err = await call.then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DeadlineExceeded);
    assert.ok(err.error instanceof TimeoutError && err.error.timeoutMs === 50);
    const signal = ctxSeen!.signal; // read after the deadline: created already aborted
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, err.error);
  });

  test('the caller abort is forwarded to the call and rejects with its reason; the listener is removed after', async () => {
    const q = new DeadlineQueue(60_000);
    const outer = new AbortController();
    let inner: AbortSignal | undefined;
    const call = runWithDeadline(
      q,
      (ctx) => {
        inner = ctx.signal;
        return new Promise<never>(() => {});
      },
      outer.signal,
    );
    const reason = new Error('caller left');
    outer.abort(reason);
    await assert.rejects(call, (e) => e === reason);
    assert.equal(inner?.aborted, true);
    assert.equal(q.size, 0);
  });

  test('a synchronous result never enters the queue; a sync throw rejects', async () => {
    const timers = new FakeTimers();
    const q = new DeadlineQueue(50, timers);
    assert.equal(await runWithDeadline(q, () => 7, undefined), 7);
    await assert.rejects(
      runWithDeadline(
        q,
        () => {
          throw new Error('sync');
        },
        undefined,
      ),
      /sync/,
    );
    assert.equal(timers.created, 0);
  });

  test('property: interleaved calls with different finish times settle exactly as the model says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }), // timeout
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 30 }), // start = previous start + gap
            // finish offset after start (x.5 so it never ties with a deadline), or never
            finish: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
            fails: fc.boolean(),
            readsSignal: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (ms, specs) => {
          const timers = new FakeTimers();
          const q = new DeadlineQueue(ms, timers);
          type Outcome = 'ok' | 'err' | 'timeout';
          const events: Array<{ at: number; run: () => void }> = [];
          const results: Array<Outcome | undefined> = specs.map(() => undefined);
          const signals: Array<AbortSignal | undefined> = [];
          let start = 0;
          const expected: Outcome[] = [];
          specs.forEach((s, i) => {
            start += s.gap;
            const at = start;
            const finishAt = s.finish === undefined ? undefined : at + s.finish + 0.5;
            expected.push(finishAt === undefined || finishAt >= at + ms ? 'timeout' : s.fails ? 'err' : 'ok');
            events.push({
              at,
              run: () => {
                const d = deferred<number>();
                runWithDeadline(
                  q,
                  (ctx) => {
                    if (s.readsSignal) signals[i] = ctx.signal;
                    return d.promise;
                  },
                  undefined,
                ).then(
                  () => {
                    results[i] = 'ok';
                  },
                  (e: unknown) => {
                    results[i] = e instanceof DeadlineExceeded ? 'timeout' : 'err';
                  },
                );
                if (finishAt !== undefined) {
                  events.push({
                    at: finishAt,
                    run: () => (s.fails ? d.reject(new Error('upstream')) : d.resolve(i)),
                  });
                }
              },
            });
          });
          while (events.length > 0) {
            events.sort((a, b) => a.at - b.at);
            const next = events.shift()!;
            timers.advanceTo(next.at);
            await flush();
            next.run();
            await flush();
          }
          timers.advanceTo(start + 200);
          await flush();
          assert.deepEqual(results, expected);
          specs.forEach((s, i) => {
            if (!s.readsSignal) return;
            assert.equal(signals[i]!.aborted, expected[i] === 'timeout', `signal of call ${i}`);
          });
          assert.equal(q.size, 0, 'nothing left queued');
          assert.equal(timers.refed, 0, 'no timer holds the process after the last call');
          assert.equal(timers.live, 0, 'no timer left at all once its period passed');
        },
      ),
      { numRuns: 150 },
    );
  });
});
