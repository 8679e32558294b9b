import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedSearch, PassageCache } from '../../src/adapters/cache/passage-cache.js';
import { openDatabase } from '../../src/adapters/db/database.js';
import { DocumentRepository } from '../../src/adapters/db/documents.js';
import { ensureUsers } from '../../src/adapters/db/users.js';
import type { Passage } from '../../src/adapters/llm/types.js';
import { tempDatabase } from '../db/tmp-db.js';

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

test('cachedSearch: a repeated question searches once until the user adds or removes a document', async (t) => {
  const { db } = tempDatabase(t);
  ensureUsers(db, [
    { token: 'tok-a', user: 'alice' },
    { token: 'tok-b', user: 'bob' },
  ]);
  const documents = new DocumentRepository(db);
  const question = 'What does the Rule of Benedict say about hospitality?';
  const first = documents.createDocument('alice', {
    title: 'Notes on the Rule of Benedict',
    content: 'The Rule of Benedict asks that every guest be received with hospitality, as Christ himself.',
  });
  documents.createDocument('bob', {
    title: 'Benedict for Bob',
    content: 'Bob reads that Benedict welcomes every guest with hospitality.',
  });
  const searched: string[] = [];
  const search = cachedSearch(
    async (userId, query, limit) => {
      searched.push(userId);
      return documents.searchPassages(userId, query, limit);
    },
    async (userId) => documents.documentsVersion(userId),
    new PassageCache(),
  );
  const ids = (ps: readonly Passage[]) => ps.map((p) => p.documentId).sort();

  assert.deepEqual(ids(await search('alice', question, 3)), [first.id]);
  assert.deepEqual(ids(await search('alice', question, 3)), [first.id]);
  assert.deepEqual(searched, ['alice'], 'the repeat came from the cache');
  // Another user, another limit: their own searches.
  assert.equal((await search('bob', question, 3)).length, 1);
  assert.notEqual((await search('bob', question, 3))[0]?.documentId, first.id);
  await search('alice', question, 1);
  assert.deepEqual(searched, ['alice', 'bob', 'alice']);

  // A new document: the next repeat searches again and finds it.
  const second = documents.createDocument('alice', {
    title: 'Benedict on guests',
    content: 'Benedict says guests are received with hospitality.',
  });
  assert.deepEqual(ids(await search('alice', question, 3)), [first.id, second.id].sort());
  // Removed: gone from the excerpts at once.
  assert.equal(documents.deleteDocument('alice', first.id), true);
  assert.deepEqual(ids(await search('alice', question, 3)), [second.id]);
  assert.equal(searched.filter((u) => u === 'alice').length, 4);

  // Callers get their own array: changing it does not change what the next repeat returns.
  const mine = await search('alice', question, 3);
  mine.length = 0;
  assert.deepEqual(ids(await search('alice', question, 3)), [second.id]);
});

test('documentsVersion follows every writer: this repository, another on the same connection, another connection', (t) => {
  const { db, path } = tempDatabase(t);
  ensureUsers(db, [{ token: 'tok-a', user: 'alice' }]);
  const mine = new DocumentRepository(db);
  const sameConnection = new DocumentRepository(db);
  const other = openDatabase(path);
  t.after(() => other.close());
  const otherConnection = new DocumentRepository(other);
  const doc = (n: number) => ({ title: `Note ${n}`, content: `Hospitality note number ${n}.` });

  const v0 = mine.documentsVersion('alice');
  assert.equal(mine.documentsVersion('alice'), v0);
  mine.createDocument('alice', doc(1));
  const v1 = mine.documentsVersion('alice');
  assert.notEqual(v1, v0);
  const two = sameConnection.createDocument('alice', doc(2));
  const v2 = mine.documentsVersion('alice');
  assert.notEqual(v2, v1);
  otherConnection.createDocument('alice', doc(3));
  const v3 = mine.documentsVersion('alice');
  assert.notEqual(v3, v2);
  assert.equal(v3, otherConnection.documentsVersion('alice'));
  assert.equal(otherConnection.deleteDocument('alice', two.id), true);
  assert.notEqual(mine.documentsVersion('alice'), v3);
  assert.equal(mine.documentsVersion('alice'), otherConnection.documentsVersion('alice'));

  // A write that rolls back leaves the version as it was.
  const before = mine.documentsVersion('alice');
  assert.throws(() =>
    db.transaction(() => {
      sameConnection.createDocument('alice', doc(4));
      assert.notEqual(mine.documentsVersion('alice'), before, 'inside the transaction the change is visible');
      throw new Error('roll back');
    })(),
  );
  assert.equal(mine.documentsVersion('alice'), before);
});
