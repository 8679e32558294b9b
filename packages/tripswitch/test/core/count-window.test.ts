import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CountWindow } from '../../src/core/count-window.js';

test('count window: totals always equal those of the last N outcomes (model: a plain array)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(
        fc.oneof(fc.record({ failed: fc.boolean(), slow: fc.boolean() }), fc.constant('clear' as const)),
        {
          maxLength: 200,
        },
      ),
      (size, ops) => {
        const w = new CountWindow(size);
        let model: Array<{ failed: boolean; slow: boolean }> = [];
        for (const op of ops) {
          if (op === 'clear') {
            w.clear();
            model = [];
          } else {
            w.record(0, op.failed, op.slow);
            model.push(op);
            if (model.length > size) model.shift();
          }
          assert.deepEqual(w.totals(), {
            calls: model.length,
            failures: model.filter((o) => o.failed).length,
            slowCalls: model.filter((o) => o.slow).length,
          });
        }
      },
    ),
  );
});

test('count window: age does not matter, only the count (no idle forgetting), and memory is fixed', () => {
  const w = new CountWindow(3);
  w.record(0, true, false);
  w.record(1e12, true, false);
  assert.deepEqual(w.totals(2e12), { calls: 2, failures: 2, slowCalls: 0 });
  for (let i = 0; i < 100_000; i++) w.record(i, false, false);
  assert.deepEqual(w.totals(), { calls: 3, failures: 0, slowCalls: 0 });
});

test('count window: size is validated', () => {
  for (const size of [0, -1, 1.5, Number.NaN, 2_000_000])
    assert.throws(() => new CountWindow(size), RangeError);
});
