import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred, flush } from '../helpers/deferred.js';

async function fail(b: CircuitBreaker): Promise<void> {
  await assert.rejects(b.execute(() => Promise.reject(new Error('down'))));
}

// A result belongs to the state (generation) its call started in. Each rule runs on the lean CLOSED path
// (default options) and on the guarded path (a timeout makes every call go through it).
const paths: Array<[string, { timeout?: number }]> = [
  ['fast path', {}],
  ['guarded path', { timeout: 60_000 }],
];

for (const [path, extra] of paths)
  describe(`generations (${path})`, () => {
    test('a slow call started while CLOSED that succeeds during HALF-OPEN does not close the circuit', async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ ...extra, failMax: 2, openDuration: 1_000, clock });
      const slow = deferred<string>();
      const slowCall = b.execute(() => slow.promise);
      await flush();
      await fail(b);
      await fail(b);
      assert.equal(b.state, 'open');
      clock.advance(1_000);
      assert.equal(b.state, 'half-open');
      slow.resolve('late success');
      assert.equal(await slowCall, 'late success', 'the caller still gets its value');
      assert.equal(b.state, 'half-open', 'a result from the CLOSED generation must not close the circuit');
      assert.equal(b.stats().halfOpen?.successes, 0);
    });

    test('a slow call started while CLOSED that fails during HALF-OPEN does not reopen it', async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ ...extra, failMax: 1, openDuration: 1_000, clock });
      const slow = deferred<string>();
      const slowCall = b.execute(() => slow.promise);
      await flush();
      await fail(b);
      clock.advance(1_000);
      assert.equal(b.state, 'half-open');
      slow.reject(new Error('late failure'));
      await assert.rejects(slowCall);
      assert.equal(b.state, 'half-open');
      // The probe slot is still free for a real probe.
      assert.equal(await b.execute(() => 'probe'), 'probe');
      assert.equal(b.state, 'closed');
    });

    test('a stale failure (started before a probe closed the circuit) does not reopen it', async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ ...extra, failMax: 1, openDuration: 1_000, clock });
      const old = deferred<string>();
      const oldCall = b.execute(() => old.promise); // started while CLOSED, generation 0
      await flush();
      await fail(b);
      clock.advance(1_000);
      assert.equal(await b.execute(() => 'probe ok'), 'probe ok');
      assert.equal(b.state, 'closed');
      old.reject(new Error('stale'));
      await assert.rejects(oldCall);
      assert.equal(b.state, 'closed', 'failMax=1, yet the stale failure must not trip the new CLOSED period');
      assert.equal(b.failCount, 0);
    });

    test('a second probe failing after the first probe closed the circuit is stale', async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ ...extra, failMax: 1, openDuration: 1_000, halfOpenMaxCalls: 2, clock });
      await fail(b);
      clock.advance(1_000);
      const p1 = deferred<string>();
      const p2 = deferred<string>();
      const c1 = b.execute(() => p1.promise);
      const c2 = b.execute(() => p2.promise);
      await flush();
      p1.resolve('ok');
      await c1;
      assert.equal(b.state, 'closed');
      p2.reject(new Error('late probe failure'));
      await assert.rejects(c2);
      assert.equal(b.state, 'closed');
      assert.equal(b.failCount, 0);
    });

    test('a stale failure in CLOSED after a manual open/close does not count', async () => {
      const b = new CircuitBreaker({ ...extra, failMax: 1 });
      const old = deferred<string>();
      const oldCall = b.execute(() => old.promise);
      await flush();
      b.open();
      b.close();
      old.reject(new Error('from before the manual close'));
      await assert.rejects(oldCall);
      assert.equal(b.state, 'closed');
      assert.equal(b.failCount, 0);
    });

    test('a stale success does not reset the current failure streak', async () => {
      const b = new CircuitBreaker({ ...extra, failMax: 3 });
      const old = deferred<string>();
      const oldCall = b.execute(() => old.promise);
      await flush();
      b.open();
      b.close();
      await fail(b);
      await fail(b);
      old.resolve('old');
      await oldCall;
      assert.equal(b.failCount, 2, 'a success from an earlier generation must not reset the new streak');
      await fail(b);
      assert.equal(b.state, 'open');
    });

    test('every transition bumps the generation reported in stats()', async () => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({ ...extra, failMax: 1, openDuration: 10, clock });
      const g0 = b.stats().generation;
      await fail(b);
      const g1 = b.stats().generation;
      assert.ok(g1 > g0);
      clock.advance(10);
      assert.ok(b.stats().generation > g1);
    });
  });
