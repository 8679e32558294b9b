import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BreakerRef, CircuitBreaker, CircuitOpenError, type CircuitState } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

const down = new Error('down');

describe('listener objects', () => {
  test('get stateChange, failure, success and rejected with the breaker as first argument', async () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    const refs: BreakerRef[] = [];
    const b = new CircuitBreaker({
      name: 'llm',
      failMax: 1,
      openDuration: 100,
      clock,
      listeners: [
        {
          stateChange(br, from, to) {
            refs.push(br);
            log.push(`state:${from}->${to}`);
          },
          failure(br, err) {
            refs.push(br);
            log.push(`failure:${(err as Error).message}`);
          },
          success(br) {
            refs.push(br);
            log.push('success');
          },
          rejected(br, err) {
            refs.push(br);
            assert.ok(err instanceof CircuitOpenError);
            log.push(`rejected:${err.state}`);
          },
        },
      ],
    });
    await b.execute(() => 1);
    await assert.rejects(b.execute(() => Promise.reject(down)));
    await assert.rejects(b.execute(() => 2));
    clock.advance(100);
    await b.execute(() => 3);
    // Within one call the order of the failure/success event and the state change is not pinned.
    assert.deepEqual(
      [...log].sort(),
      [
        'success',
        'state:closed->open',
        'failure:down',
        'rejected:open',
        'state:open->half-open',
        'success',
        'state:half-open->closed',
      ].sort(),
    );
    assert.ok(log.indexOf('rejected:open') > log.indexOf('state:closed->open'));
    assert.ok(log.indexOf('state:open->half-open') > log.indexOf('rejected:open'));
    assert.ok(refs.every((r) => r === b));
  });

  test('addListener() attaches later and returns a detach function', async () => {
    const b = new CircuitBreaker({ failMax: 3 });
    let failures = 0;
    const detach = b.addListener({ failure: () => failures++ });
    await assert.rejects(b.execute(() => Promise.reject(down)));
    detach();
    await assert.rejects(b.execute(() => Promise.reject(down)));
    assert.equal(failures, 1);
  });
});

describe('on()', () => {
  test('typed events fire with their arguments', async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    const transitions: Array<[CircuitState, CircuitState]> = [];
    const failures: unknown[] = [];
    let successes = 0;
    const rejected: CircuitOpenError[] = [];
    b.on('stateChange', (from, to) => transitions.push([from, to]));
    b.on('failure', (err) => failures.push(err));
    b.on('success', () => successes++);
    b.on('rejected', (err) => rejected.push(err));
    await b.execute(() => 'ok');
    await assert.rejects(b.execute(() => Promise.reject(down)));
    await assert.rejects(
      b.execute(() => 'x'),
      CircuitOpenError,
    );
    assert.equal(successes, 1);
    assert.deepEqual(failures, [down]);
    assert.deepEqual(transitions, [['closed', 'open']]);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]?.breakerName, 'breaker');
  });

  test('returns an unsubscribe function', async () => {
    const b = new CircuitBreaker();
    let n = 0;
    const off = b.on('success', () => n++);
    await b.execute(() => 1);
    off();
    await b.execute(() => 2);
    off(); // a second call is harmless
    assert.equal(n, 1);
  });

  test('unsubscribing one handler leaves the others', async () => {
    const b = new CircuitBreaker();
    let a = 0;
    let c = 0;
    const offA = b.on('success', () => a++);
    b.on('success', () => c++);
    offA();
    await b.execute(() => 1);
    assert.equal(a, 0);
    assert.equal(c, 1);
  });

  test('the ignored event reports caller aborts and excluded errors', async () => {
    class Excluded extends Error {}
    const b = new CircuitBreaker({ exclude: [Excluded] });
    const ignored: unknown[] = [];
    b.on('ignored', (err) => ignored.push(err));
    const e = new Excluded('x');
    await assert.rejects(b.execute(() => Promise.reject(e)));
    assert.deepEqual(ignored, [e]);
  });
});

describe('throwing listeners', () => {
  test('a throwing success listener does not break the call', async () => {
    const b = new CircuitBreaker({
      listeners: [
        {
          success() {
            throw new Error('listener bug');
          },
        },
      ],
    });
    b.on('success', () => {
      throw new Error('handler bug');
    });
    assert.equal(await b.execute(() => 'result'), 'result');
    assert.equal(b.stats().totals.successes, 1);
  });

  test('a throwing failure/stateChange listener neither changes the error thrown nor stops the trip', async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, openDuration: 100, clock });
    let later = 0;
    b.on('stateChange', () => {
      throw new Error('listener bug');
    });
    b.on('failure', () => {
      throw new Error('listener bug');
    });
    b.on('stateChange', () => later++);
    await assert.rejects(
      b.execute(() => Promise.reject(down)),
      (e) => e === down,
    );
    assert.equal(b.state, 'open');
    assert.equal(later, 1, 'handlers after a throwing one still run');
    clock.advance(100);
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(() => 'probe'), 'probe');
    assert.equal(b.state, 'closed');
  });

  test('a throwing rejected listener still yields a CircuitOpenError', async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      listeners: [
        {
          rejected() {
            throw new TypeError('listener bug');
          },
        },
      ],
    });
    b.open();
    await assert.rejects(
      b.execute(() => 1),
      CircuitOpenError,
    );
    const r = await b.tryExecute(() => 1);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof CircuitOpenError);
  });
});
