// Regression tests for defects found in review: each failed before its fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakerRegistry, CircuitBreaker, type StateStore, type StoreLink, TimeoutError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const down = () => Promise.reject(new Error('down'));

test('timeout above the largest timer delay is rejected at construction (Node would fire it after 1 ms)', () => {
  assert.throws(
    () => new CircuitBreaker({ timeout: 3e9 }),
    (err: unknown) => {
      return err instanceof RangeError && /timeout/.test(err.message) && /2147483647/.test(err.message);
    },
  );
  assert.doesNotThrow(() => new CircuitBreaker({ timeout: 2_147_483_647 }));
});

test('an openDuration function that throws falls back to the default open duration', async () => {
  const clock = new ManualClock(1_000);
  const b = new CircuitBreaker({
    failMax: 1,
    clock,
    openDuration: () => {
      throw new Error('bug in user code');
    },
  });
  await assert.rejects(b.execute(down), /down/, 'the caller sees the upstream error, not the user bug');
  assert.equal(b.state, 'open');
  assert.equal(b.retryAfter, 30_000);
});

test('a probe that settles after halfOpenTimeout is written off even if nobody read the state meanwhile', async () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ failMax: 1, openDuration: 100, halfOpenTimeout: 5_000, clock });
  await b.execute(down).catch(() => {});
  clock.advance(100);
  let release!: () => void;
  const probe = b.execute(() => new Promise<string>((r) => (release = () => r('late'))));
  clock.advance(10_000); // nobody looks at the breaker while the probe hangs
  release();
  assert.equal(await probe, 'late', 'the caller still gets its value');
  // Written off at its deadline (t=5_100), OPEN until 5_200, HALF-OPEN since (F1): not closed by the late success.
  assert.equal(b.state, 'half-open', 'the late success must not close the circuit');
  assert.equal(b.stats().totals.successes, 0, 'and is counted nowhere (F2)');
});

test('a written-off probe is reported to listeners as a failure and a timeout', async () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ failMax: 1, openDuration: 100, halfOpenTimeout: 1_000, clock });
  const failures: unknown[] = [];
  b.on('failure', (err) => failures.push(err));
  await b.execute(down).catch(() => {});
  clock.advance(100);
  void b.execute(() => new Promise(() => {})); // hangs forever
  clock.advance(1_000);
  assert.equal(b.state, 'open');
  assert.equal(failures.length, 2);
  assert.ok(failures[1] instanceof TimeoutError);
  assert.equal(b.stats().totals.timeouts, 1);
});

test('a registry disposes the breakers it evicts: their store links are closed', () => {
  let closed = 0;
  const store: StateStore = {
    attach(): StoreLink {
      return {
        kind: 'counting',
        shared: false,
        status: 'connected',
        transitioned() {},
        failed() {},
        recovered() {},
        acquireProbe: () => ({ release() {} }),
        close() {
          closed++;
        },
      };
    },
  };
  const registry = new BreakerRegistry({ defaults: { store }, maxKeyed: 2 });
  registry.keyed('tenant', 'a');
  registry.keyed('tenant', 'b');
  assert.equal(closed, 0);
  registry.keyed('tenant', 'c'); // evicts tenant:a
  assert.equal(closed, 1);
  assert.equal(registry.has('tenant:a'), false);
});

test('rejections are cheap CircuitOpenErrors that still read like errors', async () => {
  const { CircuitOpenError } = await import('tripswitch');
  const b = new CircuitBreaker({ name: 'hf', failMax: 1 });
  await b.execute(down).catch(() => {});
  const err = await b.execute(() => 'never').catch((e: unknown) => e);
  assert.ok(err instanceof CircuitOpenError && err instanceof Error);
  assert.equal(err.name, 'CircuitOpenError');
  assert.match(err.message, /^circuit "hf" is open; retry after \d+ ms$/);
  assert.equal(err.stack, `CircuitOpenError: ${err.message}`);
  assert.equal(String(err), `CircuitOpenError: ${err.message}`);
  const built = new CircuitOpenError('x', 'isolated', Number.POSITIVE_INFINITY);
  assert.equal(built.retryAfter, Number.POSITIVE_INFINITY);
  assert.match(built.message, /circuit "x" is isolated/);
});
