// Excerpt search on real SQLite files: Unicode that looks the same matches the same, relevance is per
// user, off-topic questions get nothing, and the labelled question set stays above its bar.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { DocumentRepository } from '../../src/adapters/db/documents.js';
import { MIGRATIONS, migrate } from '../../src/adapters/db/migrations.js';
import { ensureUsers } from '../../src/adapters/db/users.js';
import { measureSearchQuality } from '../../src/corpus/labelled-questions.js';
import { seedCorpus } from '../../src/corpus/seed.js';
import { SAMPLE_SERMONS } from '../../src/corpus/sermons.js';
import { PASSAGE_MAX_CHARS, splitPassages } from '../../src/domain/search/passages.js';
import { foldText, queryTerms } from '../../src/domain/search/text.js';
import { tempDatabase } from './tmp-db.js';

function setup(t: TestContext, users = ['alice', 'bob']) {
  const { db, path } = tempDatabase(t);
  ensureUsers(
    db,
    users.map((user) => ({ token: `token-${user}`, user })),
  );
  return { db, path, docs: new DocumentRepository(db) };
}

/** [text in a document, question that must find it] — each pair looks the same to a reader. */
const LOOKALIKES: ReadonlyArray<readonly [string, string]> = [
  ['the ﬁre of the spirit', 'fire'], // U+FB01 ligature
  ['the ﬂame and the oﬀering', 'flame offering'], // ﬂ, ﬀ ligatures
  ['Ｍｅｒｃｙ endures', 'mercy'], // full-width letters
  ['chapter １２ verse ３', '12'], // full-width digits
  ['a walk through İstanbul', 'istanbul'], // dotted capital I (lower-cases to i + U+0307)
  ['DIYARBAKIR', 'diyarbakır'], // dotless ı folds with i
  ['die Straße nach Emmaus', 'strasse'], // ß is ss
  ['DIE STRASSE NACH EMMAUS', 'straße'],
  ['ẞ capital sharp s: GROẞ', 'gross'],
  ['ΣΟΦΙΑΣ', 'σοφίας'], // Greek final sigma and tonos
  ['café and crème brûlée', 'cafe creme brulee'], // Latin accents
  ['cafe', 'CAFÉ'],
  ['Ǆemal', 'džemal'], // title-case digraph
  ['ＨＯＰＥ in hard times', 'Hope'],
  ['ｶﾀｶﾅ', 'カタカナ'], // half-width katakana
  ['Ⅻ apostles', 'xii'], // Roman numeral compatibility character
  ['E = mc²', 'mc2'], // superscript
  ['ſtrength', 'strength'], // long s
  ['ЁЛКА', 'ёлка'], // Cyrillic
  ['मेरा भारत', 'भारत'], // Devanagari: vowel signs stay inside the word
  ['the Ｋ and the Å', 'k å'], // Kelvin and Ångström signs
];

describe('Unicode normalisation: question and documents folded the same way', () => {
  test('foldText gives each look-alike pair the same terms', () => {
    for (const [text, question] of LOOKALIKES) {
      const docTerms = new Set(queryTerms(text));
      for (const term of queryTerms(question)) {
        assert.ok(docTerms.has(term), `${question} → ${term} not among ${[...docTerms]} (from "${text}")`);
      }
    }
    assert.equal(foldText('İ'), 'i');
    assert.equal(foldText('ß'), 'ss');
    assert.equal(foldText('ﬁ'), 'fi');
  });

  test('every look-alike pair is found through the real SQLite index', (t) => {
    const { docs } = setup(t);
    for (const [text, question] of LOOKALIKES) {
      const doc = docs.createDocument('alice', { title: 'Notes', content: text });
      const hits = docs.searchPassages('alice', question);
      assert.deepEqual(
        hits.map((h) => h.documentId),
        [doc.id],
        `"${question}" should find "${text}"`,
      );
      docs.deleteDocument('alice', doc.id);
    }
  });

  test('a combining mark never cuts a word in two', () => {
    assert.deepEqual(queryTerms('हिन्दी'), ['हिन्दी']);
    assert.deepEqual(queryTerms('İstanbul'), ['istanbul']);
  });
});

describe('relevance is per user', () => {
  test("Bob's scores do not move when Alice adds documents with the same words", (t) => {
    const { docs } = setup(t);
    docs.createDocument('bob', {
      title: 'Mercy',
      content: 'Mercy triumphs over judgment. Grace upon grace.',
    });
    docs.createDocument('bob', { title: 'Patience', content: 'Patience in the long wait for mercy.' });
    const before = docs.searchPassages('bob', 'mercy and grace');
    assert.ok(before.length > 0);
    for (let i = 0; i < 30; i++) {
      docs.createDocument('alice', { title: `Mercy ${i}`, content: 'mercy mercy grace grace judgment' });
    }
    assert.deepEqual(docs.searchPassages('bob', 'mercy and grace'), before);
  });

  test("one user's lookup reads only that user's index entries (query plan)", (t) => {
    const { db } = setup(t);
    const plan = db
      .prepare<[string, string], { detail: string }>(
        `EXPLAIN QUERY PLAN SELECT po.passage_seq FROM postings po JOIN passages pa ON pa.seq = po.passage_seq
         WHERE po.user_id = ? AND po.term IN (SELECT value FROM json_each(?))`,
      )
      .all('alice', '["mercy"]')
      .map((r) => r.detail)
      .join('\n');
    assert.match(plan, /SEARCH po USING PRIMARY KEY \(user_id=\? AND term=\?\)/);
  });
});

describe('excerpt quality on the labelled question set', () => {
  test('the right sermon is in the top 3 for at least 90%, and off-topic questions get nothing', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    const q = measureSearchQuality((question) => docs.searchPassages('alice', question).map((p) => p.title));
    assert.ok(q.questions >= 40);
    assert.ok(q.precisionAt3 >= 0.9, `precision@3 ${q.precisionAt3}\n${q.misses.join('\n')}`);
    assert.equal(q.offTopicEmpty, q.offTopic, q.misses.join('\n'));
  });

  test('a number the documents never mention does not count against a question', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    const titles = (q: string) => docs.searchPassages('alice', q).map((p) => p.title);
    assert.equal(
      titles('What do the sermons say about forgiveness? (#7)')[0],
      'Seventy Times Seven: On Forgiveness',
    );
    assert.deepEqual(titles('And what about 2026?'), []);
  });

  test('"How long do I boil an egg?" gets no sermon passage that merely says "long"', (t) => {
    const { db, docs } = setup(t);
    seedCorpus(db, 'alice');
    assert.ok(docs.searchPassages('alice', 'long road of patience').length > 0);
    assert.deepEqual(docs.searchPassages('alice', 'How long do I boil an egg?'), []);
    assert.deepEqual(docs.searchPassages('alice', 'Why are my car brakes squeaking?'), []);
    assert.deepEqual(docs.searchPassages('alice', 'How much should I put into my retirement account?'), []);
  });
});

describe('migration 2', () => {
  test('a version-1 file with documents is indexed on upgrade', (t) => {
    const { path } = tempDatabase(t);
    // Rebuild the file as version 1 with a user and a document written by the old schema.
    const old = new BetterSqlite3(`${path}.v1`);
    t.after(() => old.close());
    MIGRATIONS[0]!.up(old);
    old.pragma('user_version = 1');
    old
      .prepare("INSERT INTO users (id, name, token_hash, created_at) VALUES ('alice', 'alice', NULL, 0)")
      .run();
    const sermon = SAMPLE_SERMONS[2]!;
    old
      .prepare(
        "INSERT INTO documents (id, user_id, title, content, created_at) VALUES ('d1', 'alice', ?, ?, 0)",
      )
      .run(sermon.title, sermon.content);
    assert.equal(migrate(old), MIGRATIONS.length - 1);
    const docs = new DocumentRepository(old);
    assert.equal(docs.searchPassages('alice', 'Why did the prodigal son come home?')[0]?.documentId, 'd1');
    assert.notEqual(docs.documentsVersion('alice'), docs.documentsVersion('nobody'));
  });
});

describe('splitPassages', () => {
  test('property: passages are 1..PASSAGE_MAX_CHARS code points, whole pairs, and lose no text but whitespace', () => {
    const text = fc.stringMatching(/^[a-zé .!?…\n"”)]{0,2000}$/);
    const astral = fc.stringMatching(/^[a😀𝔊 .\n]{0,2000}$/u);
    fc.assert(
      fc.property(fc.oneof(text, astral, fc.string({ maxLength: 2000, unit: 'grapheme' })), (content) => {
        const passages = splitPassages(content);
        for (const p of passages) {
          const length = [...p].length;
          assert.ok(length >= 1 && length <= PASSAGE_MAX_CHARS, p);
          assert.doesNotMatch(p, /\p{Cs}/u, 'no surrogate pair split');
        }
        assert.equal(passages.join('').replace(/\s+/g, ''), content.replace(/\s+/g, ''));
      }),
      { numRuns: 300 },
    );
  });

  test('a paragraph over the limit is cut at sentence ends; leading punctuation is kept', () => {
    const sentence = 'The father ran to meet his son on the road home. ';
    const passages = splitPassages(`...${sentence.repeat(30)}`);
    assert.ok(passages.length > 1);
    assert.match(passages[0]!, /^\.\.\. The father/);
    for (const p of passages.slice(0, -1)) assert.match(p, /\.$/);
  });
});
