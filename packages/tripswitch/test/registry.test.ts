import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CircuitBreaker } from '../src/core/breaker.js';
import { CircuitOpenError } from '../src/core/errors.js';
import { BreakerRegistry, type RemovalReason } from '../src/registry.js';
import { ManualClock } from '../src/testing/manual-clock.js';

const fail = (breaker: CircuitBreaker): Promise<unknown> =>
  breaker.execute(() => Promise.reject(new Error('upstream down'))).catch((err: unknown) => err);

describe('BreakerRegistry', () => {
  test('get is get-or-create: same instance for the same name, created from defaults + overrides', async () => {
    const registry = new BreakerRegistry({ defaults: { failMax: 2 } });
    const llm = registry.get('huggingface');
    assert.equal(registry.get('huggingface'), llm);
    assert.equal(llm.name, 'huggingface');
    await fail(llm);
    assert.equal(llm.state, 'closed');
    await fail(llm);
    assert.equal(llm.state, 'open', 'failMax 2 from the defaults');

    const strict = registry.get('openai', { failMax: 1, name: 'ignored' });
    assert.equal(strict.name, 'openai', 'the registry name wins');
    await fail(strict);
    assert.equal(strict.state, 'open', 'failMax 1 from the overrides');
    assert.equal(registry.get('openai', { failMax: 50 }), strict, 'later overrides do not recreate it');
    assert.equal(registry.size, 2);
  });

  test('keyed breakers are named prefix:key and shared with get under that name', () => {
    const registry = new BreakerRegistry();
    const a = registry.keyed('model', 'llama-3-8b');
    assert.equal(a.name, 'model:llama-3-8b');
    assert.equal(registry.keyed('model', 'llama-3-8b'), a);
    assert.equal(registry.get('model:llama-3-8b'), a);
    assert.notEqual(registry.keyed('model', 'mistral-7b'), a);
    assert.equal(registry.keyedSize, 2);
    assert.ok(registry.has('model:mistral-7b'));
  });

  test('maxKeyed bounds keyed breakers with LRU eviction; named breakers are not counted', () => {
    const removed: [string, RemovalReason][] = [];
    const registry = new BreakerRegistry({ maxKeyed: 3, onRemove: (b, why) => removed.push([b.name, why]) });
    registry.get('primary');
    registry.keyed('tenant', 'a');
    registry.keyed('tenant', 'b');
    registry.keyed('tenant', 'c');
    registry.keyed('tenant', 'a'); // a becomes most recently used
    registry.keyed('tenant', 'd'); // evicts b
    assert.deepEqual(removed, [['tenant:b', 'evicted']]);
    assert.equal(registry.has('tenant:b'), false);
    assert.equal(registry.keyedSize, 3);
    assert.equal(registry.size, 4);
    for (let i = 0; i < 100; i++) registry.keyed('tenant', `x${i}`);
    assert.equal(registry.keyedSize, 3);
    assert.ok(registry.has('primary'));
  });

  test('never evicts a breaker that is protecting callers: open with time left, probing, isolated', async () => {
    const clock = new ManualClock(0);
    const registry = new BreakerRegistry({
      maxKeyed: 2,
      defaults: { failMax: 1, openDuration: 1000, clock },
    });
    const open = registry.keyed('endpoint', 'open');
    const halfOpen = registry.keyed('endpoint', 'half-open');
    await fail(halfOpen);
    clock.advance(1000);
    assert.equal(halfOpen.state, 'half-open');
    let endProbe = (): void => {};
    const probe = halfOpen.execute(() => new Promise<void>((resolve) => (endProbe = resolve)));
    await fail(open);
    assert.equal(open.state, 'open');
    const isolated = registry.keyed('endpoint', 'isolated');
    isolated.isolate();

    // All three are pinned; a newcomer cannot push any of them out, so the registry goes over its bound.
    for (let i = 0; i < 5; i++) registry.keyed('endpoint', `fresh${i}`);
    for (const b of [open, halfOpen, isolated]) assert.ok(registry.has(b.name), `${b.name} kept`);
    assert.equal(registry.keyedSize, 4, 'three pinned + the newest');
    await assert.rejects(
      registry.keyed('endpoint', 'open').execute(() => 'x'),
      CircuitOpenError,
    );

    // Once they close, later insertions bring the registry back under the bound.
    endProbe();
    await probe;
    open.close();
    halfOpen.close();
    isolated.close();
    registry.keyed('endpoint', 'later');
    assert.equal(registry.keyedSize, 2);
  });

  test('snapshots() lists every breaker with its name and stats', async () => {
    const registry = new BreakerRegistry({ defaults: { failMax: 1 } });
    await fail(registry.get('llm'));
    registry.keyed('tenant', 't1');
    const snapshots = registry.snapshots();
    assert.deepEqual(
      snapshots.map((s) => [s.name, s.state]),
      [
        ['llm', 'open'],
        ['tenant:t1', 'closed'],
      ],
    );
    assert.equal(snapshots[0]?.totals.failures, 1);
    assert.deepEqual(
      registry.list().map((b) => b.name),
      ['llm', 'tenant:t1'],
    );
  });

  test('onCreate sees each new breaker once; its exceptions are ignored; unsubscribe works', () => {
    const created: string[] = [];
    const registry = new BreakerRegistry({
      onCreate: (b) => {
        created.push(b.name);
        throw new Error('metrics hook bug');
      },
    });
    const seenLater: string[] = [];
    const off = registry.onCreate((b) => seenLater.push(b.name));
    registry.get('a');
    registry.get('a');
    registry.keyed('k', '1');
    off();
    registry.get('b');
    assert.deepEqual(created, ['a', 'k:1', 'b']);
    assert.deepEqual(seenLater, ['a', 'k:1']);
  });

  test('delete removes named and keyed breakers and reports it', () => {
    const removed: [string, RemovalReason][] = [];
    const registry = new BreakerRegistry();
    registry.onRemove((b, why) => removed.push([b.name, why]));
    const a = registry.get('a');
    registry.keyed('k', '1');
    assert.equal(registry.delete('a'), true);
    assert.equal(registry.delete('k:1'), true);
    assert.equal(registry.delete('nope'), false);
    assert.equal(registry.size, 0);
    assert.deepEqual(removed, [
      ['a', 'deleted'],
      ['k:1', 'deleted'],
    ]);
    assert.notEqual(registry.get('a'), a, 'a deleted name is created afresh');
  });

  test('validates its options and arguments', () => {
    assert.throws(() => new BreakerRegistry({ maxKeyed: 0 }), /maxKeyed must be an integer in \[1,/);
    assert.throws(() => new BreakerRegistry({ maxKeyed: 2.5 }), RangeError);
    assert.throws(() => new BreakerRegistry({ onCreate: 1 as unknown as () => void }), TypeError);
    const registry = new BreakerRegistry({ defaults: { failMax: 0 } });
    assert.throws(() => registry.get('bad'), RangeError, 'invalid defaults surface at creation');
    assert.equal(registry.has('bad'), false);
    assert.throws(() => registry.get(''), TypeError);
    assert.throws(() => registry.keyed('p', 3 as unknown as string), TypeError);
  });
});
