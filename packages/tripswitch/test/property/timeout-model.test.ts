// Property test for the breaker's timeout (one deadline queue per breaker): many concurrent calls with
// different behaviours and start times, checked against a model of DESIGN 2.2's timeout semantics. Each
// behaviour's outcome does not depend on how loaded the machine is: an operation either settles at once, or
// never (only its signal ends it), or its caller aborts it right after it starts (long before the deadline).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type CallContext, CircuitBreaker, TimeoutError } from 'tripswitch';

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
