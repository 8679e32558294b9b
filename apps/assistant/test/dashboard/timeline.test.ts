// The per-breaker ring of per-second buckets behind the dashboard's timeline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATE_CODES, Timeline } from '../../src/dashboard/timeline.js';

const code = (state: (typeof STATE_CODES)[number]) => STATE_CODES.indexOf(state);
const T0 = 1_700_000_000_000; // a whole second

describe('Timeline', () => {
  test('counts outcomes per second and fills silent seconds with zero counts', () => {
    const tl = new Timeline(60);
    tl.record('success', T0);
    tl.record('success', T0 + 900);
    tl.record('failure', T0 + 999);
    tl.record('rejected', T0 + 2000);
    const { start, buckets } = tl.series(T0 + 2500);
    assert.equal(buckets.length, 60);
    assert.equal(start, T0 / 1000 - 57);
    const at = (ms: number) => buckets[ms / 1000 - start]!;
    assert.deepEqual(at(T0), [2, 1, 0, code('closed')]);
    assert.deepEqual(at(T0 + 1000), [0, 0, 0, code('closed')]);
    assert.deepEqual(at(T0 + 2000), [0, 0, 1, code('closed')]);
    assert.deepEqual(tl.totals(T0 + 2500, 60), { success: 2, failure: 1, rejected: 1 });
  });

  test('a second shows the worst state seen in it; silent seconds carry the state that held', () => {
    const tl = new Timeline(60);
    tl.record('failure', T0);
    tl.transition('open', T0 + 100);
    tl.transition('half-open', T0 + 5000);
    tl.transition('closed', T0 + 6200);
    const { start, buckets } = tl.series(T0 + 8000);
    const stateAt = (s: number) => buckets[s - start]![3];
    assert.equal(stateAt(T0 / 1000 - 1), code('closed'), 'before the trip');
    assert.equal(stateAt(T0 / 1000), code('open'), 'the trip second');
    // Second 5 began open (half-open only from its start on): the band shows open.
    for (let s = 1; s <= 5; s++) assert.equal(stateAt(T0 / 1000 + s), code('open'), `open at +${s}s`);
    assert.equal(stateAt(T0 / 1000 + 6), code('half-open'), 'worst of half-open and closed');
    assert.equal(stateAt(T0 / 1000 + 7), code('closed'));
    assert.equal(stateAt(T0 / 1000 + 8), code('closed'));
    assert.equal(tl.state, 'closed');
  });

  test('old seconds are recycled: memory is the window, not the traffic', () => {
    const tl = new Timeline(60);
    for (let s = 0; s < 600; s++) tl.record('success', T0 + s * 1000);
    const now = T0 + 599_000;
    const { buckets } = tl.series(now);
    assert.equal(buckets.length, 60);
    assert.ok(buckets.every((b) => b[0] === 1));
    assert.deepEqual(tl.totals(now, 3600), { success: 60, failure: 0, rejected: 0 });
    // A slot reused for a newer second starts from zero.
    tl.record('failure', now + 60_000);
    assert.deepEqual(tl.series(now + 60_000).buckets.at(-1), [0, 1, 0, code('closed')]);
  });

  test('a tail series starts where asked, clamped to the window', () => {
    const tl = new Timeline(60, 'isolated');
    const tail = tl.series(T0 + 10_500, T0 / 1000 + 8);
    assert.equal(tail.start, T0 / 1000 + 8);
    assert.equal(tail.buckets.length, 3);
    assert.ok(tail.buckets.every((b) => b[3] === code('isolated')));
    assert.equal(tl.series(T0, 0).buckets.length, 60);
    assert.equal(tl.series(T0, T0 / 1000 + 5).buckets.length, 0);
  });

  test('invalid window sizes throw RangeError naming the option', () => {
    assert.throws(() => new Timeline(10), /timeline seconds must be an integer in \[60, 3600\]/);
    assert.throws(() => new Timeline(Number.NaN), RangeError);
    assert.throws(() => new Timeline(7200), RangeError);
  });
});
