import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassageCache } from '../../src/adapters/cache/passage-cache.js';
import type { Passage } from '../../src/adapters/llm/types.js';

const P = (text: string): Passage => ({ documentId: 'doc_1', title: 'Grace', text, score: 1.5 });

test('an entry answers only for its user, its exact question and its documents version', () => {
  const cache = new PassageCache();
  cache.set('alice', 'v1', 'What is grace?', [P('grace is a gift')]);
  assert.deepEqual(cache.get('alice', 'v1', 'What is grace?'), [P('grace is a gift')]);
  assert.equal(cache.get('bob', 'v1', 'What is grace?'), undefined, 'another user never sees it');
  assert.equal(cache.get('alice', 'v1', 'What is grace'), undefined);
  // The user's documents changed: the entry is gone for good, even if asked under the old version again.
  assert.equal(cache.get('alice', 'v2', 'What is grace?'), undefined);
  assert.equal(cache.get('alice', 'v1', 'What is grace?'), undefined);
  assert.equal(cache.size, 0);
});

test('cached passages cannot be changed by a caller', () => {
  const cache = new PassageCache();
  const found = [P('original')];
  cache.set('alice', 'v1', 'q', found);
  found[0] = P('changed after set');
  const hit = cache.get('alice', 'v1', 'q');
  assert.deepEqual(hit, [P('original')]);
  assert.throws(() => {
    (hit as Passage[]).push(P('x'));
  }, TypeError);
  assert.throws(() => {
    (hit?.[0] as { text: string }).text = 'x';
  }, TypeError);
});

test('bounded by entries and by characters; an oversized entry is not kept', () => {
  const byCount = new PassageCache({ maxEntries: 2 });
  byCount.set('u', 'v', 'a', [P('1')]);
  byCount.set('u', 'v', 'b', [P('2')]);
  byCount.get('u', 'v', 'a'); // a is now the most recently used
  byCount.set('u', 'v', 'c', [P('3')]);
  assert.equal(byCount.get('u', 'v', 'b'), undefined);
  assert.ok(byCount.get('u', 'v', 'a'));
  assert.ok(byCount.get('u', 'v', 'c'));

  const byChars = new PassageCache({ maxChars: 1_000 });
  const astral = '𝄞'.repeat(600); // 1,200 UTF-16 units
  byChars.set('u', 'v', astral, [P('x')]);
  assert.equal(byChars.size, 0);
  byChars.set('u', 'v', 'short', [P('y')]);
  assert.equal(byChars.size, 1);
});

test('invalid options are RangeErrors naming the option', () => {
  assert.throws(() => new PassageCache({ maxEntries: 0 }), /maxEntries/);
  assert.throws(() => new PassageCache({ maxChars: 1.5 }), /maxChars/);
});
