// The behaviours the peer suites (pybreaker, opossum, cockatiel, gobreaker, resilience4j) showed to differ on
// purpose; README "Deliberate differences from peers" describes each beside the peer's behaviour.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { deferred } from '../helpers/deferred.js';

class Excluded extends Error {}
const down = new Error('down');

test('the call that trips the circuit gets its own error; the next one gets CircuitOpenError', async () => {
  const b = new CircuitBreaker({ failMax: 2 });
  await assert.rejects(
    b.execute(() => Promise.reject(down)),
    (e) => e === down,
  );
  await assert.rejects(
    b.execute(() => Promise.reject(down)),
    (e) => e === down,
    'the tripping call',
  );
  assert.equal(b.state, 'open');
  await assert.rejects(
    b.execute(() => 'never runs'),
    CircuitOpenError,
  );
});

test('an excluded error is ignored, not a success: the failure streak stays, and a probe does not close', async () => {
  const b = new CircuitBreaker({ failMax: 2, openDuration: 0, exclude: [Excluded] });
  await assert.rejects(b.execute(() => Promise.reject(down)));
  await assert.rejects(b.execute(() => Promise.reject(new Excluded('bad request'))));
  assert.equal(b.failCount, 1, 'the streak was not reset (pybreaker and opossum would reset it)');
  await assert.rejects(b.execute(() => Promise.reject(down)));
  assert.equal(b.state, 'half-open', 'opened (openDuration 0: half-open at once)');
  await assert.rejects(b.execute(() => Promise.reject(new Excluded('bad request'))));
  assert.equal(b.state, 'half-open', 'an excluded error on a probe neither closes nor reopens');
});

test('halfOpenMaxCalls counts concurrent probes: a settled probe frees its slot', async () => {
  const b = new CircuitBreaker({ failMax: 1, openDuration: 0, halfOpenMaxCalls: 1, successThreshold: 3 });
  b.open();
  const first = deferred<string>();
  const probe = b.execute(() => first.promise);
  await assert.rejects(
    b.execute(() => 'second at once'),
    CircuitOpenError,
    'one slot, busy',
  );
  first.resolve('ok');
  await probe;
  assert.equal(await b.execute(() => 'second probe'), 'second probe', 'the slot is free again');
  assert.equal(await b.execute(() => 'third probe'), 'third probe');
  assert.equal(b.state, 'closed', 'three probe successes, one at a time');
});
