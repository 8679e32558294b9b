// The user's documents (sermons) and full-text search over them. Every read is scoped by user id.
import type { Database, Statement } from 'better-sqlite3';
import {
  checkSearch,
  clip,
  DOCUMENT_LIMITS,
  MAX_LIST_LIMIT,
  PASSAGE_MAX_CHARS,
  requireLimit,
  requireOffset,
  requireText,
} from '../../domain/document-rules.js';
import type { DocumentInput, DocumentSummary, Passage, StoredDocument } from '../../domain/storage.js';
import { codePointLength } from '../../domain/text.js';
import { toFtsQuery } from './fts-query.js';
import { newId } from './ids.js';

export type { DocumentInput, DocumentSummary, Passage, StoredDocument };
export { DOCUMENT_LIMITS, PASSAGE_MAX_CHARS };

interface DocumentRow {
  id: string;
  title: string;
  content: string;
  created_at: number;
}
interface SummaryRow {
  id: string;
  title: string;
  created_at: number;
  size: number;
}
interface SearchRow {
  id: string;
  title: string;
  excerpt: string;
  bm25_score: number;
}

export class DocumentRepository {
  readonly #now: () => number;
  readonly #seed: (userId: string, inputs: readonly DocumentInput[]) => number;
  readonly #insert: Statement<[string, string, string, string, number]>;
  readonly #list: Statement<[string, number, number], SummaryRow>;
  readonly #get: Statement<[string, string], DocumentRow>;
  readonly #delete: Statement<[string, string]>;
  readonly #count: Statement<[string], { n: number }>;
  readonly #search: Statement<[string, string, number], SearchRow>;

  constructor(db: Database, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    // IMMEDIATE: two processes seeding the same new file serialise on the write lock.
    const seed = db.transaction((userId: string, inputs: readonly DocumentInput[]): number => {
      if (this.countDocuments(userId) > 0) return 0;
      for (const input of inputs) this.createDocument(userId, input);
      return inputs.length;
    });
    this.#seed = (userId, inputs) => seed.immediate(userId, inputs);
    this.#insert = db.prepare(
      'INSERT INTO documents (id, user_id, title, content, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#list = db.prepare(
      `SELECT id, title, created_at, length(content) AS size FROM documents
       WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`,
    );
    this.#get = db.prepare(
      'SELECT id, title, content, created_at FROM documents WHERE user_id = ? AND id = ?',
    );
    this.#delete = db.prepare('DELETE FROM documents WHERE user_id = ? AND id = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM documents WHERE user_id = ?');
    // bm25 is negative, more negative = more relevant; the title column weighs double. The snippet is
    // taken from the content column (64 tokens max, FTS5's ceiling) without highlight markers.
    this.#search = db.prepare(
      `SELECT d.id AS id, d.title AS title,
              snippet(documents_fts, 1, '', '', '…', 64) AS excerpt,
              bm25(documents_fts, 2.0, 1.0) AS bm25_score
       FROM documents_fts JOIN documents d ON d.seq = documents_fts.rowid
       WHERE documents_fts MATCH ? AND d.user_id = ?
       ORDER BY bm25_score LIMIT ?`,
    );
  }

  createDocument(userId: string, input: DocumentInput): StoredDocument {
    const title = requireText(input?.title, 'title', DOCUMENT_LIMITS.titleMaxChars);
    const content = requireText(input?.content, 'content', DOCUMENT_LIMITS.contentMaxChars);
    const id = newId('doc');
    const createdAt = this.#now();
    this.#insert.run(id, userId, title, content, createdAt);
    return { id, title, content, createdAt, size: codePointLength(content) };
  }

  /** Adds `inputs` for `userId` when they have no documents yet, atomically; returns how many were added. */
  seedIfEmpty(userId: string, inputs: readonly DocumentInput[]): number {
    return this.#seed(userId, inputs);
  }

  /** The caller's documents, newest first, without their content. */
  listDocuments(userId: string, options: { limit?: number; offset?: number } = {}): DocumentSummary[] {
    const limit = requireLimit(options.limit ?? 100, 'limit', MAX_LIST_LIMIT);
    const offset = requireOffset(options.offset ?? 0);
    return this.#list.all(userId, limit, offset).map((r) => ({
      id: r.id,
      title: r.title,
      createdAt: r.created_at,
      size: r.size,
    }));
  }

  /** The document, or null when it does not exist or belongs to someone else. */
  getDocument(userId: string, id: string): StoredDocument | null {
    const r = this.#get.get(userId, id);
    if (!r) return null;
    return {
      id: r.id,
      title: r.title,
      content: r.content,
      createdAt: r.created_at,
      size: codePointLength(r.content),
    };
  }

  /** True when the caller's document existed and was deleted. */
  deleteDocument(userId: string, id: string): boolean {
    return this.#delete.run(userId, id).changes === 1;
  }

  countDocuments(userId: string): number {
    return this.#count.get(userId)?.n ?? 0;
  }

  /**
   * The caller's most relevant passages for free text `query`, best first. `score` is the negated FTS5
   * bm25 value, so it is positive and higher means more relevant; it compares passages within one
   * search, not across searches. Any input is safe (see fts-query.ts); no match gives [].
   */
  searchPassages(userId: string, query: string, limit = 3): Passage[] {
    const match = toFtsQuery(checkSearch(query, limit));
    if (match === null) return [];
    return this.#search.all(match, userId, limit).map((r) => ({
      documentId: r.id,
      title: r.title,
      text: clip(r.excerpt, PASSAGE_MAX_CHARS),
      score: -r.bm25_score,
    }));
  }
}
