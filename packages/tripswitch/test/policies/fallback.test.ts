import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitOpenError, isPolicyRejection } from '../../src/core/errors.js';
import type { CallContext } from '../../src/core/types.js';
import { fallback } from '../../src/policies/index.js';

/** Compile-time type equality. */
type Equal<X, Y> = (<V>() => V extends X ? 1 : 2) extends <V>() => V extends Y ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T): void => {};

describe('fallback policy', () => {
  test('returns the operation’s result when it succeeds', async () => {
    const result = await fallback('cached').execute(() => 'fresh');
    expectType<Equal<typeof result, string>>(true);
    assert.equal(result, 'fresh');
  });

  test('a value substitutes for any failure; the result type is T | R', async () => {
    const result = await fallback({ degraded: true as const }).execute(
      async (): Promise<{ answer: string }> => {
        throw new Error('down');
      },
    );
    expectType<Equal<typeof result, { answer: string } | { degraded: true }>>(true);
    assert.deepEqual(result, { degraded: true });
  });

  test('a producer receives the reason and the caller’s context, and may be async', async () => {
    const caller = new AbortController();
    const seen: [unknown, CallContext][] = [];
    const policy = fallback(async (reason, ctx) => {
      seen.push([reason, ctx]);
      return 42;
    });
    const boom = new CircuitOpenError('llm', 'open', 500);
    const result = await policy.execute((): string => {
      throw boom;
    }, caller.signal);
    expectType<Equal<typeof result, string | number>>(true);
    assert.equal(result, 42);
    assert.equal(seen[0]?.[0], boom);
    assert.equal(seen[0]?.[1].signal, caller.signal);
  });

  test('`when` limits which failures are substituted', async () => {
    const policy = fallback('degraded', { when: isPolicyRejection });
    assert.equal(
      await policy.execute(() => Promise.reject(new CircuitOpenError('llm', 'open', 1))),
      'degraded',
    );
    const other = new Error('bad input');
    await assert.rejects(
      policy.execute(() => Promise.reject(other)),
      (err) => err === other,
    );
  });

  test('the caller’s own abort is never substituted', async () => {
    const caller = new AbortController();
    const reason = new Error('user left');
    const policy = fallback('degraded');
    await assert.rejects(
      policy.execute(() => {
        caller.abort(reason);
        throw reason;
      }, caller.signal),
      (err) => err === reason,
    );
    await assert.rejects(
      policy.execute(() => 'never runs', caller.signal),
      (err) => err === reason,
    );
  });

  test('a failing producer rejects with its own error', async () => {
    const policy = fallback(() => {
      throw new Error('cache unavailable');
    });
    await assert.rejects(
      policy.execute(() => Promise.reject(new Error('down'))),
      /cache unavailable/,
    );
  });

  test('validates its options', () => {
    assert.throws(
      () => fallback(1, { when: 'all' as unknown as () => boolean }),
      /fallback when must be a function/,
    );
  });
});
