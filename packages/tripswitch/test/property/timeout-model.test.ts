// Property test for the breaker's timeout (one deadline queue per breaker): many concurrent calls with
// different behaviours and start times, checked against a model of DESIGN 2.2's timeout semantics. Each
// behaviour's outcome does not depend on how loaded the machine is: an operation either settles at once, or
// never (only its signal ends it), or its caller aborts it right after it starts (long before the deadline).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type CallContext, CircuitBreaker, TimeoutError } from 'tripswitch';
import { FakeTime, flush } from '../helpers/fake-time.js';

type Kind = 'ok' | 'fails' | 'hangs' | 'honoursSignal' | 'callerAborts' | 'sync';

test('breaker timeout: interleaved calls settle as the model says; counts and signals match; no timer left', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          kind: fc.constantFrom<Kind>('ok', 'fails', 'hangs', 'honoursSignal', 'callerAborts', 'sync'),
          startDelay: fc.integer({ min: 0, max: 20 }),
          readsSignal: fc.boolean(),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      async (calls) => {
        const T = 300;
        const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
        const b = new CircuitBreaker({ timeout: T, failMax: 1_000_000 });
        const outcomes: string[] = [];
        const signals: Array<AbortSignal | undefined> = [];
        await Promise.all(
          calls.map(async (c, i) => {
            await new Promise((r) => setTimeout(r, c.startDelay));
            const caller = c.kind === 'callerAborts' ? new AbortController() : undefined;
            const op = (ctx: CallContext) => {
              if (c.readsSignal || c.kind === 'honoursSignal' || c.kind === 'callerAborts')
                signals[i] = ctx.signal;
              switch (c.kind) {
                case 'ok':
                  return Promise.resolve(i);
                case 'sync':
                  return i;
                case 'fails':
                  return Promise.reject(new Error(`upstream ${i}`));
                case 'hangs':
                  return new Promise<number>(() => {});
                default:
                  return new Promise<number>((_, reject) =>
                    ctx.signal.addEventListener('abort', () => reject(new Error('aborted inside')), {
                      once: true,
                    }),
                  );
              }
            };
            const pending = b.execute(op, caller?.signal);
            if (caller !== undefined) setImmediate(() => caller.abort(new Error(`caller ${i} left`)));
            try {
              const v = await pending;
              outcomes[i] = v === i ? 'value' : `wrong value ${v}`;
            } catch (err) {
              outcomes[i] =
                err instanceof TimeoutError && err.timeoutMs === T
                  ? 'timeout'
                  : err instanceof Error && err.message === `caller ${i} left`
                    ? 'caller'
                    : err instanceof Error && err.message === `upstream ${i}`
                      ? 'error'
                      : `unexpected ${String(err)}`;
            }
          }),
        );
        const expected = calls.map((c) =>
          c.kind === 'ok' || c.kind === 'sync'
            ? 'value'
            : c.kind === 'fails'
              ? 'error'
              : c.kind === 'callerAborts'
                ? 'caller'
                : 'timeout',
        );
        assert.deepEqual(outcomes, expected);
        const count = (k: string) => expected.filter((e) => e === k).length;
        const t = b.stats().totals;
        assert.equal(t.calls, calls.length);
        assert.equal(t.successes, count('value'));
        assert.equal(t.failures, count('error') + count('timeout'));
        assert.equal(t.timeouts, count('timeout'));
        assert.equal(t.ignored, count('caller'));
        calls.forEach((c, i) => {
          const s = signals[i];
          if (s === undefined) return;
          const shouldAbort = expected[i] === 'timeout' || expected[i] === 'caller';
          assert.equal(s.aborted, shouldAbort, `call ${i} (${c.kind}) signal`);
          if (expected[i] === 'timeout') assert.ok(s.reason instanceof TimeoutError);
        });
        const distinct = new Set(signals.filter((s) => s !== undefined));
        assert.equal(
          distinct.size,
          signals.filter((s) => s !== undefined).length,
          'every call has its own signal',
        );
        await new Promise((r) => setImmediate(r));
        assert.equal(
          process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
          timersBefore,
          "no ref'ed timer once every call has settled",
        );
      },
    ),
    { numRuns: 15 },
  );
});

// The same queue under simulated time (performance.now and setTimeout faked, see helpers/fake-time.ts):
// calls start at different instants and finish at their own times, before or after their deadline, or
// never; some callers abort. Each call settles exactly once with what the model says, at the instant it
// says (a deadline exactly on time, never early or late); the timeouts fire in the order of their
// deadlines; every outcome is recorded once; and once the last call has settled no timer is left ref'ed.
type Finish = { kind: 'value' | 'error'; after: number } | { kind: 'never' } | { kind: 'sync' };

test('breaker timeout, simulated time: each call settles once, at its instant; timeouts in deadline order; no timer left', async () => {
  const time = new FakeTime();
  const restoreNow = time.patchPerformanceNow();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.array(
          fc.record({
            start: fc.integer({ min: 0, max: 600 }),
            finish: fc.oneof(
              fc.record({
                kind: fc.constantFrom('value' as const, 'error' as const),
                after: fc.nat({ max: 700 }),
              }),
              fc.constant({ kind: 'never' as const }),
              fc.constant({ kind: 'sync' as const }),
            ) as fc.Arbitrary<Finish>,
            callerAbortAfter: fc.option(fc.nat({ max: 700 }), { nil: undefined }),
            readsSignal: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40, size: 'max' },
        ),
        async (T, guarded, calls) => {
          // An instant shared by a call's own finish (or its caller's abort) and its deadline is decided by
          // timer order, not by the contract: keep those apart.
          const apart = (ms: number | undefined) => (ms === T ? ms + 1 : ms);
          const plan = calls.map((c) => ({
            ...c,
            finish:
              c.finish.kind === 'value' || c.finish.kind === 'error'
                ? { ...c.finish, after: apart(c.finish.after)! }
                : c.finish,
            callerAbortAfter: apart(c.callerAbortAfter),
          }));
          time.install();
          try {
            const t0 = time.now;
            // recordLatency takes every call through the guarded path; without it, the lean timed path.
            const b = new CircuitBreaker({ timeout: T, failMax: 1_000_000, recordLatency: guarded });
            const recorded = { success: 0, failure: 0, ignored: 0 };
            b.on('success', () => void recorded.success++);
            b.on('failure', () => void recorded.failure++);
            b.on('ignored', () => void recorded.ignored++);
            const settled: Array<{ how: string; at: number; times: number }> = [];
            const timeoutOrder: number[] = [];
            const signals: Array<AbortSignal | undefined> = [];
            // The expected outcome and instant of each call.
            const expected = plan.map((c) => {
              const abortAt = c.callerAbortAfter;
              if (c.finish.kind === 'sync') return { how: 'value', after: 0 };
              const finishAt = c.finish.kind === 'never' ? Number.POSITIVE_INFINITY : c.finish.after;
              const first = Math.min(finishAt, abortAt ?? Number.POSITIVE_INFINITY, T);
              if (first === T) return { how: 'timeout', after: T };
              // At the same instant the harness finishes the operation before the caller aborts.
              if (abortAt !== undefined && abortAt < finishAt) return { how: 'caller', after: abortAt };
              return { how: c.finish.kind, after: finishAt };
            });
            // Events of the harness in time order; a call is started before anything else at its instant.
            const events: Array<{ at: number; order: number; run: () => void }> = [];
            plan.forEach((c, i) => {
              const settle: { resolve?: (v: number) => void; reject?: (e: unknown) => void } = {};
              const caller = c.callerAbortAfter === undefined ? undefined : new AbortController();
              events.push({
                at: c.start,
                order: 0,
                run: () => {
                  settled[i] = { how: 'pending', at: -1, times: 0 };
                  const record = (how: string) => {
                    const s = settled[i]!;
                    s.times++;
                    s.how = how;
                    s.at = time.now - t0 - c.start;
                    if (how === 'timeout') timeoutOrder.push(i);
                  };
                  b.execute((ctx) => {
                    if (c.readsSignal) signals[i] = ctx.signal;
                    if (c.finish.kind === 'sync') return i;
                    return new Promise<number>((resolve, reject) => {
                      settle.resolve = resolve;
                      settle.reject = reject;
                    });
                  }, caller?.signal).then(
                    (v) => record(v === i ? 'value' : `wrong value ${v}`),
                    (e: unknown) =>
                      record(
                        e instanceof TimeoutError && e.timeoutMs === T
                          ? 'timeout'
                          : e instanceof Error && e.message === `upstream ${i}`
                            ? 'error'
                            : caller !== undefined && e === caller.signal.reason
                              ? 'caller'
                              : `unexpected ${String(e)}`,
                      ),
                  );
                },
              });
              if (c.finish.kind === 'value' || c.finish.kind === 'error') {
                const kind = c.finish.kind;
                events.push({
                  at: c.start + c.finish.after,
                  order: 1,
                  run: () =>
                    kind === 'value' ? settle.resolve?.(i) : settle.reject?.(new Error(`upstream ${i}`)),
                });
              }
              if (caller !== undefined)
                events.push({
                  at: c.start + c.callerAbortAfter!,
                  order: 1,
                  run: () => caller.abort(new Error(`caller ${i} left`)),
                });
            });
            events.sort((x, y) => x.at - y.at || x.order - y.order);
            for (const e of events) {
              await time.advance(t0 + e.at - time.now);
              e.run();
              await flush();
            }
            // Let the deadlines of calls still running fall due, and stop at the last settlement: from then
            // on no timer may keep the process alive (the queue's timer may stay armed, unref'ed).
            const running = () => plan.some((_, i) => settled[i]!.times === 0);
            for (let due = time.nextDue(); running() && due !== undefined; due = time.nextDue())
              await time.advance(due - time.now);
            await flush();
            assert.equal(time.refedTimers(), 0, "a ref'ed timer is left after the last call settled");

            plan.forEach((c, i) => {
              const s = settled[i]!;
              assert.equal(s.times, 1, `call ${i} settled ${s.times} times`);
              assert.deepEqual({ how: s.how, after: s.at }, expected[i], `call ${i} ${JSON.stringify(c)}`);
            });
            const byDeadline = expected
              .map((e, i) => ({ i, due: plan[i]!.start + T, how: e.how }))
              .filter((x) => x.how === 'timeout')
              .sort((x, y) => x.due - y.due || x.i - y.i)
              .map((x) => x.i);
            assert.deepEqual(timeoutOrder, byDeadline, 'timeouts fire in the order of their deadlines');
            const count = (how: string) => expected.filter((e) => e.how === how).length;
            const totals = b.stats().totals;
            assert.equal(totals.calls, plan.length);
            assert.deepEqual(recorded, {
              success: count('value'),
              failure: count('error') + count('timeout'),
              ignored: count('caller'),
            });
            assert.equal(totals.successes, count('value'));
            assert.equal(totals.failures, count('error') + count('timeout'));
            assert.equal(totals.timeouts, count('timeout'));
            assert.equal(totals.ignored, count('caller'));
            signals.forEach((signal, i) => {
              if (signal === undefined) return;
              const how = expected[i]!.how;
              assert.equal(
                signal.aborted,
                how === 'timeout' || how === 'caller',
                `call ${i} (${how}) signal`,
              );
              if (how === 'timeout') assert.ok(signal.reason instanceof TimeoutError);
            });
          } finally {
            time.uninstall();
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 200), includeErrorInReport: true },
    );
  } finally {
    restoreNow();
  }
});
