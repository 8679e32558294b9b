import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred, flush } from '../helpers/deferred.js';

async function tripToHalfOpen(b: CircuitBreaker, clock: ManualClock, openDuration: number): Promise<void> {
  const err = new Error('down');
  while (b.state === 'closed') {
    await assert.rejects(
      b.execute(() => Promise.reject(err)),
      (e) => e === err,
    );
  }
  assert.equal(b.state, 'open');
  clock.advance(openDuration);
  assert.equal(b.state, 'half-open');
}

describe('HALF-OPEN admission', () => {
  for (const max of [1, 3]) {
    test(`1000 simultaneous calls admit exactly halfOpenMaxCalls=${max}; the rest reject at once`, async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, halfOpenMaxCalls: max, clock });
      await tripToHalfOpen(b, clock, 1_000);
      const gate = deferred<string>();
      let admitted = 0;
      const settled: Array<{ ok: boolean; error?: unknown }> = [];
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 1_000; i++) {
        const p = b.execute(() => {
          admitted++;
          return gate.promise;
        });
        calls.push(
          p.then(
            () => settled.push({ ok: true }),
            (error: unknown) => settled.push({ ok: false, error }),
          ),
        );
      }
      await flush();
      assert.equal(admitted, max);
      // Every refused call is already settled while the probes are still pending (no waiting).
      assert.equal(settled.length, 1_000 - max);
      for (const s of settled) {
        assert.equal(s.ok, false);
        assert.ok(s.error instanceof CircuitOpenError);
        assert.equal(s.error.state, 'half-open');
      }
      assert.equal(b.stats().halfOpen?.inFlight, max);
      gate.resolve('fine');
      await Promise.all(calls);
      assert.equal(settled.filter((s) => s.ok).length, max);
      assert.equal(b.state, 'closed');
      assert.equal(b.stats().totals.rejections, 1_000 - max);
    });
  }

  test('successThreshold > 1 needs that many probe successes to close', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, successThreshold: 3, clock });
    await tripToHalfOpen(b, clock, 1_000);
    await b.execute(() => 1);
    assert.equal(b.state, 'half-open');
    await b.execute(() => 2);
    assert.equal(b.state, 'half-open');
    assert.equal(b.stats().halfOpen?.successes, 2);
    await b.execute(() => 3);
    assert.equal(b.state, 'closed');
  });

  test('a probe failure after some successes reopens', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, successThreshold: 2, clock });
    await tripToHalfOpen(b, clock, 1_000);
    await b.execute(() => 1);
    await assert.rejects(b.execute(() => Promise.reject(new Error('again'))));
    assert.equal(b.state, 'open');
    clock.advance(1_000);
    await b.execute(() => 1);
    assert.equal(b.state, 'half-open', 'earlier successes must not carry over to the new HALF-OPEN');
  });

  test('probe failure sends the breaker back to OPEN and rejects until the next openDuration', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, clock });
    await tripToHalfOpen(b, clock, 1_000);
    const probeErr = new Error('probe');
    await assert.rejects(
      b.execute(() => Promise.reject(probeErr)),
      (e) => e === probeErr,
    );
    assert.equal(b.state, 'open');
    await assert.rejects(
      b.execute(() => 'x'),
      (e) => e instanceof CircuitOpenError && e.state === 'open' && e.retryAfter === 1_000,
    );
  });

  test('a probe that never settles: after halfOpenTimeout the breaker reopens, then admits a new probe', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, halfOpenTimeout: 5_000, clock });
    await tripToHalfOpen(b, clock, 1_000);
    const hung = deferred<string>();
    const stuck = b.execute(() => hung.promise);
    await flush();
    // While the probe is out, others are refused with a hint that points at the probe deadline.
    clock.advance(2_000);
    await assert.rejects(
      b.execute(() => 'x'),
      (e) => e instanceof CircuitOpenError && e.state === 'half-open' && e.retryAfter === 3_000,
    );
    clock.advance(3_000);
    assert.equal(b.state, 'open', 'HALF-OPEN must not stick behind an unsettled probe');
    // The unsettled probe counts as one failure (a timeout).
    assert.equal(b.stats().totals.failures, 2);
    assert.equal(b.stats().lastFailure?.name, TimeoutError.name);
    clock.advance(1_000);
    assert.equal(b.state, 'half-open');
    let probed = false;
    assert.equal(
      await b.execute(() => {
        probed = true;
        return 'new probe';
      }),
      'new probe',
    );
    assert.equal(probed, true);
    assert.equal(b.state, 'closed');
    // The old probe settling late is stale: it changes nothing.
    hung.reject(new Error('late'));
    await assert.rejects(stuck);
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
  });

  test('a stale probe cancelled during a later HALF-OPEN does not free a slot of the new one', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, halfOpenTimeout: 5_000, clock });
    await tripToHalfOpen(b, clock, 1_000);
    const caller = new AbortController();
    const stale = b.execute(
      (ctx) =>
        new Promise<never>((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        }),
      caller.signal,
    );
    await flush();
    clock.advance(5_000);
    assert.equal(b.state, 'open');
    clock.advance(1_000);
    const gate = deferred<string>();
    const probe = b.execute(() => gate.promise); // the new HALF-OPEN's only probe
    await flush();
    caller.abort(new Error('old caller gave up'));
    await assert.rejects(stale);
    await assert.rejects(
      b.execute(() => 'extra'),
      (e) => e instanceof CircuitOpenError && e.state === 'half-open',
      'the slot is still held by the current probe',
    );
    gate.resolve('ok');
    assert.equal(await probe, 'ok');
    assert.equal(b.state, 'closed');
  });

  test('a probe ignored (excluded error) frees its slot so another probe can run', async () => {
    class Excluded extends Error {}
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 1_000, exclude: [Excluded], clock });
    await tripToHalfOpen(b, clock, 1_000);
    await assert.rejects(b.execute(() => Promise.reject(new Excluded('client error'))));
    assert.equal(b.state, 'half-open');
    assert.equal(b.stats().halfOpen?.inFlight, 0);
    assert.equal(await b.execute(() => 'ok'), 'ok');
    assert.equal(b.state, 'closed');
  });
});
