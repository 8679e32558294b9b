import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { openDatabase } from '../../src/adapters/db/database.js';
import { DocumentRepository, PASSAGE_MAX_CHARS } from '../../src/adapters/db/documents.js';
import { ensureUsers } from '../../src/adapters/db/users.js';
import { seedCorpus } from '../../src/corpus/seed.js';
import { SAMPLE_SERMONS } from '../../src/corpus/sermons.js';
import { queryTerms } from '../../src/domain/search/text.js';
import { tempDatabase } from './tmp-db.js';

function setup(t: TestContext) {
  const { db, path } = tempDatabase(t);
  ensureUsers(db, [
    { token: 'ta', user: 'alice' },
    { token: 'tb', user: 'bob' },
  ]);
  return { db, path, docs: new DocumentRepository(db) };
}

const HOSTILE = [
  '"foo" AND (',
  'NEAR(a b, 3',
  'title:patience',
  '*',
  '^start',
  'a OR',
  'NOT',
  '"',
  "'; DROP TABLE documents; --",
  '(((((',
  'forgive* - + {title content}: x',
  '\u0000\u0001 null bytes',
  '💥 emoji only 💥',
  '',
  '   ',
];

describe('documents', () => {
  test('create, get and list, newest first, trimmed', (t) => {
    const { docs } = setup(t);
    const a = docs.createDocument('alice', { title: '  First  ', content: ' one ' });
    const b = docs.createDocument('alice', { title: 'Second', content: 'two two' });
    assert.match(a.id, /^doc_[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a.id, b.id);
    assert.equal(a.title, 'First');
    assert.deepEqual(docs.getDocument('alice', a.id), a);
    const list = docs.listDocuments('alice');
    assert.deepEqual(
      list.map((d) => d.id),
      [b.id, a.id],
    );
    assert.deepEqual(list[0], { id: b.id, title: 'Second', createdAt: b.createdAt, size: 7 });
    assert.deepEqual(
      docs.listDocuments('alice', { limit: 1, offset: 1 }).map((d) => d.id),
      [a.id],
    );
  });

  test('users only ever see their own documents', (t) => {
    const { docs } = setup(t);
    const mine = docs.createDocument('alice', { title: 'Alice on patience', content: 'patience patience' });
    assert.equal(docs.getDocument('bob', mine.id), null);
    assert.deepEqual(docs.listDocuments('bob'), []);
    assert.deepEqual(docs.searchPassages('bob', 'patience'), []);
    assert.equal(docs.deleteDocument('bob', mine.id), false);
    assert.ok(docs.getDocument('alice', mine.id));
    assert.equal(docs.searchPassages('alice', 'patience').length, 1);
  });

  test('invalid input throws naming the field', (t) => {
    const { docs } = setup(t);
    assert.throws(() => docs.createDocument('alice', { title: '   ', content: 'x' }), /title must be 1-300/);
    assert.throws(
      () => docs.createDocument('alice', { title: 't', content: 'x'.repeat(200_001) }),
      /content must be 1-200000/,
    );
    assert.throws(
      () => docs.createDocument('alice', { title: 1 as unknown as string, content: 'x' }),
      TypeError,
    );
    assert.throws(() => docs.listDocuments('alice', { limit: 0 }), RangeError);
    assert.throws(() => docs.searchPassages('alice', 'x', 0), /limit must be an integer/);
  });

  test('a document for an unknown user is refused (foreign key)', (t) => {
    const { docs } = setup(t);
    assert.throws(() => docs.createDocument('mallory', { title: 't', content: 'c' }), /FOREIGN KEY/);
  });
});

describe('searchPassages', () => {
  test('ranks the most relevant document first with a positive, decreasing score', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    const results = docs.searchPassages('alice', 'Why did the prodigal son come home?');
    assert.ok(results.length >= 2, `${results.length} passages`);
    assert.equal(results[0]?.title, 'The Father Who Ran: The Prodigal Son');
    assert.equal(new Set(results.map((r) => r.documentId)).size, results.length, 'one passage per document');
    const forgive = docs.searchPassages('alice', 'How do I forgive someone who hurt me?');
    assert.equal(forgive[0]?.title, 'Seventy Times Seven: On Forgiveness');
    for (let i = 1; i < results.length; i++) {
      assert.ok(results[i - 1]!.score >= results[i]!.score, 'scores must not increase');
    }
    assert.ok(results[0]!.score > 0);
    // Stemming: the query's "forgive" finds "forgiveness" in the excerpt.
    assert.match(forgive[0]!.text, /forgiveness/i);
  });

  test('a title match outranks the same word in passing', (t) => {
    const { docs } = setup(t);
    const passing = docs.createDocument('alice', {
      title: 'Weekly notes',
      content:
        'Coffee after the service. Someone mentioned courage briefly. Chairs need stacking. Bring snacks.',
    });
    const titled = docs.createDocument('alice', {
      title: 'On courage',
      content:
        'Coffee after the service. Someone mentioned courage briefly. Chairs need stacking. Bring snacks.',
    });
    const results = docs.searchPassages('alice', 'courage');
    assert.deepEqual(
      results.map((r) => r.documentId),
      [titled.id, passing.id],
    );
  });

  test('passages have the pinned shape and bounded length', (t) => {
    const { docs } = setup(t);
    const long = Array.from({ length: 400 }, (_, i) => (i === 250 ? 'mustard' : `word${i}`)).join(' ');
    const doc = docs.createDocument('alice', { title: 'Long', content: long });
    const [p] = docs.searchPassages('alice', 'mustard');
    assert.ok(p);
    assert.deepEqual(Object.keys(p).sort(), ['documentId', 'score', 'text', 'title']);
    assert.equal(p.documentId, doc.id);
    assert.equal(p.title, 'Long');
    assert.ok(p.text.length <= PASSAGE_MAX_CHARS, `excerpt is ${p.text.length} chars`);
    assert.ok(p.text.length < long.length);
    assert.match(p.text, /mustard/);
  });

  test('limit bounds the number of passages', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    assert.equal(docs.searchPassages('alice', 'God love Jesus', 5).length, 5);
    assert.equal(docs.searchPassages('alice', 'God love Jesus', 1).length, 1);
  });

  test('no match, or nothing but stop words, gives an empty list', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    assert.deepEqual(docs.searchPassages('alice', 'xylophone quasar'), []);
    assert.deepEqual(docs.searchPassages('alice', 'what is it?'), []);
  });

  test('hostile query strings never throw', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    for (const q of HOSTILE) assert.ok(Array.isArray(docs.searchPassages('alice', q)), q);
    // FTS syntax is treated as plain words: "title:patience" searches for both words.
    assert.ok(docs.searchPassages('alice', 'title:patience').length > 0);
  });

  test('property: any string is a safe query', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (q) => {
        const results = docs.searchPassages('alice', q);
        assert.ok(results.length <= 3);
        for (const term of queryTerms(q)) assert.match(term, /^[\p{L}\p{N}][\p{L}\p{N}\p{M}]*$/u);
      }),
      { numRuns: 200 },
    );
  });

  test('the index follows deletes, and a deleted document leaves nothing behind', (t) => {
    const { db, docs } = setup(t);
    const doc = docs.createDocument('alice', { title: 'Sabbath', content: 'rest is a gift' });
    assert.equal(docs.searchPassages('alice', 'gift').length, 1);
    assert.equal(docs.deleteDocument('alice', doc.id), true);
    assert.deepEqual(docs.searchPassages('alice', 'gift'), []);
    assert.equal(docs.deleteDocument('alice', doc.id), false);
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    assert.equal(count('SELECT count(*) AS n FROM postings'), 0);
    assert.equal(count('SELECT count(*) AS n FROM passages'), 0);
    assert.deepEqual(db.prepare('SELECT passages, total_length FROM search_stats').get(), {
      passages: 0,
      total_length: 0,
    });
  });
});

describe('seedCorpus', () => {
  test('the corpus is about twenty sermons of roughly 150-300 words', () => {
    assert.ok(SAMPLE_SERMONS.length >= 18 && SAMPLE_SERMONS.length <= 25);
    for (const s of SAMPLE_SERMONS) {
      const words = s.content.split(/\s+/).length;
      assert.ok(words >= 150 && words <= 300, `${s.title}: ${words} words`);
    }
    assert.equal(new Set(SAMPLE_SERMONS.map((s) => s.title)).size, SAMPLE_SERMONS.length);
  });

  test('loads once per user: only when the user has no documents', (t) => {
    const { db, docs } = setup(t);
    assert.equal(seedCorpus(db, 'alice'), SAMPLE_SERMONS.length);
    assert.equal(seedCorpus(db, 'alice'), 0);
    assert.equal(docs.countDocuments('alice'), SAMPLE_SERMONS.length);
    docs.createDocument('bob', { title: 'Mine', content: 'my own notes' });
    assert.equal(seedCorpus(db, 'bob'), 0);
    assert.equal(docs.countDocuments('bob'), 1);
  });

  test('documents and their index survive closing and reopening the file', (t) => {
    const { db, path } = setup(t);
    seedCorpus(db, 'alice');
    db.close();
    const reopened = openDatabase(path);
    try {
      const docs = new DocumentRepository(reopened);
      assert.equal(seedCorpus(reopened, 'alice'), 0);
      assert.equal(docs.countDocuments('alice'), SAMPLE_SERMONS.length);
      assert.equal(
        docs.searchPassages('alice', 'prodigal son')[0]?.title,
        'The Father Who Ran: The Prodigal Son',
      );
    } finally {
      reopened.close();
    }
  });
});
