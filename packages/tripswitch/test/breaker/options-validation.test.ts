import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, type CircuitBreakerOptions, DEFAULTS, exponentialOpenDuration } from 'tripswitch';

type Bad = [label: string, options: unknown, kind: typeof RangeError | typeof TypeError, names: string];

// Each case: the error class and the option name the message must mention.
const cases: Bad[] = [
  ['failMax 0', { failMax: 0 }, RangeError, 'failMax'],
  ['failMax 1.5', { failMax: 1.5 }, RangeError, 'failMax'],
  ['failMax NaN', { failMax: Number.NaN }, RangeError, 'failMax'],
  ['failMax -1', { failMax: -1 }, RangeError, 'failMax'],
  ['failMax Infinity', { failMax: Number.POSITIVE_INFINITY }, RangeError, 'failMax'],
  ['failMax as string', { failMax: '5' }, RangeError, 'failMax'],
  ['negative openDuration', { openDuration: -1 }, RangeError, 'openDuration'],
  ['NaN openDuration', { openDuration: Number.NaN }, RangeError, 'openDuration'],
  ['negative failWindow', { failWindow: -10 }, RangeError, 'failWindow'],
  ['failureRate.threshold 1.5', { failureRate: { threshold: 1.5 } }, RangeError, 'failureRate.threshold'],
  ['failureRate.threshold 0', { failureRate: { threshold: 0 } }, RangeError, 'failureRate.threshold'],
  [
    'failureRate.threshold NaN',
    { failureRate: { threshold: Number.NaN } },
    RangeError,
    'failureRate.threshold',
  ],
  [
    'failureRate.minimumCalls 0',
    { failureRate: { threshold: 0.5, minimumCalls: 0 } },
    RangeError,
    'failureRate.minimumCalls',
  ],
  ['failureRate.window 0', { failureRate: { threshold: 0.5, window: 0 } }, RangeError, 'failureRate.window'],
  ['failureRate not an object', { failureRate: 0.5 }, TypeError, 'failureRate'],
  ['slowCall.duration negative', { slowCall: { duration: -5 } }, RangeError, 'slowCall.duration'],
  [
    'slowCall.rateThreshold 2',
    { slowCall: { duration: 100, rateThreshold: 2 } },
    RangeError,
    'slowCall.rateThreshold',
  ],
  ['NaN timeout', { timeout: Number.NaN }, RangeError, 'timeout'],
  ['zero timeout', { timeout: 0 }, RangeError, 'timeout'],
  ['halfOpenMaxCalls 0', { halfOpenMaxCalls: 0 }, RangeError, 'halfOpenMaxCalls'],
  ['successThreshold 0', { successThreshold: 0 }, RangeError, 'successThreshold'],
  ['halfOpenTimeout 0', { halfOpenTimeout: 0 }, RangeError, 'halfOpenTimeout'],
  ['maxRetryAfter negative', { maxRetryAfter: -1 }, RangeError, 'maxRetryAfter'],
  ['exclude not an array', { exclude: Error }, TypeError, 'exclude'],
  ['exclude with a non-function', { exclude: ['ValidationError'] }, TypeError, 'exclude'],
  ['include not an array', { include: 'TimeoutError' }, TypeError, 'include'],
  ['clock without now', { clock: {} }, TypeError, 'clock'],
  ['clock now not a function', { clock: { now: 5 } }, TypeError, 'clock'],
  ['isFailureResult not a function', { isFailureResult: true }, TypeError, 'isFailureResult'],
  ['listeners not an array', { listeners: {} }, TypeError, 'listeners'],
  ['empty name', { name: '' }, TypeError, 'name'],
];

describe('invalid options throw at construction, naming the option', () => {
  for (const [label, options, kind, name] of cases) {
    test(label, () => {
      assert.throws(
        () => new CircuitBreaker(options as CircuitBreakerOptions),
        (err: unknown) => {
          assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
          assert.ok(err.message.includes(name), `message "${err.message}" should name ${name}`);
          return true;
        },
      );
    });
  }

  test('range errors state the accepted range', () => {
    assert.throws(() => new CircuitBreaker({ failMax: 0 }), /failMax.*>= 1/);
    assert.throws(() => new CircuitBreaker({ failureRate: { threshold: 1.5 } }), /\(0, 1\]/);
    assert.throws(() => new CircuitBreaker({ openDuration: -1 }), /openDuration.*>= 0/);
  });
});

describe('valid edge values are accepted', () => {
  test('openDuration 0, threshold 1, failMax 1 and the documented defaults', () => {
    assert.doesNotThrow(() => new CircuitBreaker({ openDuration: 0 }));
    assert.doesNotThrow(() => new CircuitBreaker({ failureRate: { threshold: 1 } }));
    assert.doesNotThrow(() => new CircuitBreaker({ failMax: 1, maxRetryAfter: 0 }));
    const b = new CircuitBreaker();
    assert.equal(b.name, DEFAULTS.name);
    assert.equal(b.name, 'breaker');
    assert.equal(b.state, 'closed');
    assert.equal(DEFAULTS.failMax, 5);
    assert.equal(DEFAULTS.openDuration, 30_000);
    assert.equal(DEFAULTS.halfOpenMaxCalls, 1);
    assert.equal(DEFAULTS.successThreshold, 1);
  });

  test('an openDuration function returning garbage falls back to a sane duration instead of wedging', async () => {
    let now = 0;
    const b = new CircuitBreaker({ failMax: 1, openDuration: () => Number.NaN, clock: { now: () => now } });
    await assert.rejects(b.execute(() => Promise.reject(new Error('x'))));
    assert.equal(b.state, 'open');
    now = DEFAULTS.openDuration;
    assert.equal(b.state, 'half-open');
  });
});

describe('exponentialOpenDuration validates its options', () => {
  test('bad initial / max / multiplier / jitter throw RangeError naming the field', () => {
    assert.throws(() => exponentialOpenDuration({ initial: 0, max: 10 }), /initial/);
    assert.throws(() => exponentialOpenDuration({ initial: 100, max: 10 }), /max/);
    assert.throws(() => exponentialOpenDuration({ initial: 1, max: 10, multiplier: 0.5 }), /multiplier/);
    assert.throws(() => exponentialOpenDuration({ initial: 1, max: 10, jitter: 2 }), /jitter/);
    assert.throws(() => exponentialOpenDuration({ initial: Number.NaN, max: 10 }), RangeError);
  });
});
