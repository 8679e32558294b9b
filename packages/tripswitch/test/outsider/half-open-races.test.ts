// Outsider probes (opossum #119/#276, OmniRoute #13836, gobreaker #37 translated): hundreds of calls at
// once in HALF-OPEN racing manual open()/close()/reset(), and listeners that re-enter the breaker.
// Verified correct; pinned.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type Deferred, deferred, flush } from '../helpers/deferred.js';

describe('HALF-OPEN under racing manual control', () => {
  test('500 calls per round with open/close/reset between settlements: in-flight probes stay within [0, max]', async () => {
    const clock = new ManualClock(0);
    const max = 3;
    const b = new CircuitBreaker({
      failMax: 1,
      clock,
      openDuration: 100,
      halfOpenMaxCalls: max,
      successThreshold: 2,
    });
    const violations: string[] = [];
    const check = (where: string) => {
      const s = b.stats();
      if (s.halfOpen !== null && (s.halfOpen.inFlight < 0 || s.halfOpen.inFlight > max)) {
        violations.push(`${where}: ${JSON.stringify(s.halfOpen)}`);
      }
    };
    b.on('stateChange', () => check('stateChange'));
    const pending: Deferred<number>[] = [];
    const calls: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      b.open();
      clock.advance(100_000);
      let admitted = 0;
      for (let i = 0; i < 500; i++) {
        const gate = deferred<number>();
        calls.push(
          b
            .execute(() => {
              admitted++;
              pending.push(gate);
              return gate.promise;
            })
            .catch((e: unknown) => {
              if (!(e instanceof CircuitOpenError) && !(e instanceof Error && e.message === 'probe failed'))
                throw e;
            }),
        );
      }
      assert.ok(admitted <= max, `round ${round}: ${admitted} admitted`);
      check(`round ${round} burst`);
      if (round % 3 === 0) b.reset();
      else if (round % 3 === 1) b.close();
      for (const gate of pending.splice(0, Math.ceil(pending.length / 2))) {
        if (round % 2 === 0) gate.resolve(1);
        else gate.reject(new Error('probe failed'));
      }
      await flush();
      check(`round ${round} settled`);
    }
    for (const gate of pending.splice(0)) gate.resolve(1);
    await Promise.all(calls);
    assert.deepEqual(violations, []);
  });

  test('a stateChange listener that closes the circuit on open wins; the tripping call keeps its own error', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    b.on('stateChange', (_from, to) => {
      if (to === 'open') b.close();
    });
    const err = new Error('down');
    await assert.rejects(
      b.execute(() => Promise.reject(err)),
      (e) => e === err,
    );
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
    assert.equal(await b.execute(() => 'ok'), 'ok');
  });

  test('async listeners that re-enter execute and reject are contained (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const b = new CircuitBreaker({ failMax: 3 });
      let depth = 0;
      b.on('failure', async () => {
        if (depth++ < 5) await b.execute(() => Promise.reject(new Error('nested')));
      });
      await b.execute(() => Promise.reject(new Error('first'))).catch(() => {});
      for (let i = 0; i < 5; i++) await flush();
      assert.equal(b.state, 'open');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('thrown non-Error values and odd thenables', () => {
  for (const [label, value] of [
    ['null', null],
    ['a string', 'boom'],
    ['a number', 42],
    ['a symbol', Symbol('s')],
  ] as const) {
    test(`throwing ${label} counts as a failure and reaches the caller unchanged`, async () => {
      const b = new CircuitBreaker({ failMax: 1 });
      await assert.rejects(
        b.execute(() => {
          throw value;
        }),
        (e) => e === value,
      );
      assert.equal(b.state, 'open');
      assert.equal(b.stats().totals.failures, 1);
    });
  }

  test('a thenable that settles twice is recorded once', async () => {
    const b = new CircuitBreaker({ failMax: 2, timeout: 60_000 });
    const twice = {
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a hostile thenable
      then(resolve: (v: string) => void, reject: (e: unknown) => void) {
        resolve('first');
        reject(new Error('second'));
        resolve('third');
      },
    };
    assert.equal(await b.execute(() => twice as unknown as PromiseLike<string>), 'first');
    const s = b.stats();
    assert.equal(s.totals.successes, 1);
    assert.equal(s.totals.failures, 0);
  });

  test('a thenable whose then throws is a failure with that error', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const boom = new Error('then threw');
    const hostile = {
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a hostile thenable
      then() {
        throw boom;
      },
    };
    await assert.rejects(
      b.execute(() => hostile as unknown as PromiseLike<never>),
      (e) => e === boom,
    );
    assert.equal(b.state, 'open');
  });
});
