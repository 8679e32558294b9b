// The SQLite storage of excerpt search: passages, a per-user inverted index and per-user statistics
// (tables from migration 2). What a term is and what is relevant are decided in domain/search; this file
// only stores and looks up. Callers run add/remove inside their own transaction.
import type { Database, Statement } from 'better-sqlite3';
import {
  candidatesFromPostings,
  indexDocument,
  type PostingRow,
  passageTerms,
} from '../../domain/search/indexing.js';
import { type CorpusStats, rankPassages } from '../../domain/search/relevance.js';
import { queryTerms, termFrequencies } from '../../domain/search/text.js';
import { EMPTY_DOCUMENTS_VERSION, withDocument, withoutDocument } from '../../domain/search/version.js';

export interface IndexedDocument {
  seq: number;
  id: string;
  title: string;
  content: string;
}

export interface SearchHit {
  documentId: string;
  title: string;
  text: string;
  score: number;
}

interface StatsRow {
  passages: number;
  total_length: number;
  documents_version: string;
}

/**
 * Each user's documents version as this connection last read it, shared by every index on the connection:
 * valid while no other connection has committed (`PRAGMA data_version` unchanged) and dropped by this
 * connection's own index writes. Spares a cached-answer lookup the search_stats read.
 */
interface VersionMemo {
  dataVersion: number;
  readonly byUser: Map<string, string>;
}
const versionMemos = new WeakMap<Database, VersionMemo>();
const VERSION_MEMO_MAX_USERS = 10_000;

function versionMemo(db: Database): VersionMemo {
  let memo = versionMemos.get(db);
  if (!memo) {
    memo = { dataVersion: -1, byUser: new Map() };
    versionMemos.set(db, memo);
  }
  return memo;
}

export class SearchIndex {
  readonly #db: Database;
  readonly #dataVersion: Statement<[], number>;
  readonly #insertPassage: Statement<[number, string, number]>;
  readonly #insertPosting: Statement<[string, string, number, number]>;
  readonly #deletePosting: Statement<[string, string, number]>;
  readonly #passagesOf: Statement<[number], { seq: number; text: string; length: number }>;
  readonly #stats: Statement<[string], StatsRow>;
  readonly #putStats: Statement<[string, number, number, string]>;
  readonly #postings: Statement<[string, string], PostingRow>;
  readonly #passage: Statement<[number], { text: string; id: string; title: string }>;

  constructor(db: Database) {
    this.#db = db;
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#insertPassage = db.prepare('INSERT INTO passages (doc_seq, text, length) VALUES (?, ?, ?)');
    this.#insertPosting = db.prepare(
      'INSERT INTO postings (user_id, term, passage_seq, tf) VALUES (?, ?, ?, ?)',
    );
    this.#deletePosting = db.prepare(
      'DELETE FROM postings WHERE user_id = ? AND term = ? AND passage_seq = ?',
    );
    this.#passagesOf = db.prepare('SELECT seq, text, length FROM passages WHERE doc_seq = ?');
    this.#stats = db.prepare(
      'SELECT passages, total_length, documents_version FROM search_stats WHERE user_id = ?',
    );
    this.#putStats = db.prepare(
      `INSERT INTO search_stats (user_id, passages, total_length, documents_version) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET passages = excluded.passages,
         total_length = excluded.total_length, documents_version = excluded.documents_version`,
    );
    // The primary key (user_id, term, …) makes each term one range read of this user's entries.
    this.#postings = db.prepare(
      `SELECT po.passage_seq AS passage, CAST(pa.doc_seq AS TEXT) AS document, pa.length AS length,
         po.term AS term, po.tf AS tf
       FROM postings po JOIN passages pa ON pa.seq = po.passage_seq
       WHERE po.user_id = ? AND po.term IN (SELECT value FROM json_each(?))`,
    );
    this.#passage = db.prepare(
      `SELECT pa.text AS text, d.id AS id, d.title AS title
       FROM passages pa JOIN documents d ON d.seq = pa.doc_seq WHERE pa.seq = ?`,
    );
  }

  #statsOf(userId: string): StatsRow {
    return (
      this.#stats.get(userId) ?? { passages: 0, total_length: 0, documents_version: EMPTY_DOCUMENTS_VERSION }
    );
  }

  /** Indexes a newly stored document of `userId`. */
  add(userId: string, doc: IndexedDocument): void {
    let passages = 0;
    let length = 0;
    for (const p of indexDocument(doc.title, doc.content)) {
      const seq = Number(this.#insertPassage.run(doc.seq, p.text, p.length).lastInsertRowid);
      for (const [term, count] of p.tf) this.#insertPosting.run(userId, term, seq, count);
      passages++;
      length += p.length;
    }
    const s = this.#statsOf(userId);
    versionMemo(this.#db).byUser.delete(userId);
    this.#putStats.run(
      userId,
      s.passages + passages,
      s.total_length + length,
      withDocument(s.documents_version, doc.title, doc.content),
    );
  }

  /** Removes a document of `userId` from the index (before the document row itself is deleted). */
  remove(userId: string, doc: IndexedDocument): void {
    const title = termFrequencies(doc.title);
    let passages = 0;
    let length = 0;
    for (const p of this.#passagesOf.all(doc.seq)) {
      for (const term of passageTerms(p.text, title).keys()) this.#deletePosting.run(userId, term, p.seq);
      passages++;
      length += p.length;
    }
    const s = this.#statsOf(userId);
    versionMemo(this.#db).byUser.delete(userId);
    this.#putStats.run(
      userId,
      Math.max(s.passages - passages, 0),
      Math.max(s.total_length - length, 0),
      withoutDocument(s.documents_version, doc.title, doc.content),
    );
  }

  /** Fingerprint of the user's current document set (changes whenever a document is added or removed). */
  documentsVersion(userId: string): string {
    // Inside a transaction the answer may yet be rolled back: read it, never remember it.
    if (this.#db.inTransaction) return this.#statsOf(userId).documents_version;
    const memo = versionMemo(this.#db);
    const dataVersion = this.#dataVersion.get() as number;
    if (dataVersion !== memo.dataVersion) {
      memo.byUser.clear();
      memo.dataVersion = dataVersion;
    }
    let version = memo.byUser.get(userId);
    if (version === undefined) {
      version = this.#statsOf(userId).documents_version;
      if (memo.byUser.size >= VERSION_MEMO_MAX_USERS) memo.byUser.clear();
      memo.byUser.set(userId, version);
    }
    return version;
  }

  /** The user's relevant passages for `question`, best first, one per document, at most `limit`. */
  search(userId: string, question: string, limit: number): SearchHit[] {
    const terms = queryTerms(question);
    if (terms.length === 0) return [];
    const s = this.#statsOf(userId);
    const stats: CorpusStats = { passages: s.passages, totalLength: s.total_length };
    const candidates = candidatesFromPostings(this.#postings.all(userId, JSON.stringify(terms)));
    return rankPassages(terms, stats, candidates, limit).flatMap((hit) => {
      const p = this.#passage.get(hit.id);
      return p ? [{ documentId: p.id, title: p.title, text: p.text, score: hit.score }] : [];
    });
  }
}
