// The user's documents (sermons) and full-text search over them. Every read is scoped by user id.
import type { Database, Statement } from 'better-sqlite3';
import {
  checkSearch,
  DOCUMENT_LIMITS,
  MAX_LIST_LIMIT,
  requireLimit,
  requireOffset,
  requireText,
  toStoredDocument,
} from '../../domain/document-rules.js';
import { PASSAGE_MAX_CHARS } from '../../domain/search/passages.js';
import type { DocumentInput, DocumentSummary, Passage, StoredDocument } from '../../domain/storage.js';
import { codePointLength } from '../../domain/text.js';
import { newId } from './ids.js';
import { SearchIndex } from './search-index.js';

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

export class DocumentRepository {
  readonly #now: () => number;
  readonly #insert: Statement<[string, string, string, string, number]>;
  readonly #getBySeq: Statement<[string, string], DocumentRow & { seq: number }>;
  readonly #index: SearchIndex;
  readonly #createTx: (userId: string, input: StoredDocument) => void;
  readonly #deleteTx: (userId: string, id: string) => boolean;
  readonly #list: Statement<[string, number, number], SummaryRow>;
  readonly #get: Statement<[string, string], DocumentRow>;
  readonly #delete: Statement<[string, string]>;
  readonly #count: Statement<[string], { n: number }>;
  readonly #seed: (userId: string, inputs: readonly DocumentInput[]) => number;

  constructor(db: Database, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
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
    // IMMEDIATE: two processes seeding the same new file serialise on the write lock.
    const seed = db.transaction((userId: string, inputs: readonly DocumentInput[]): number => {
      if (this.countDocuments(userId) > 0) return 0;
      for (const input of inputs) this.createDocument(userId, input);
      return inputs.length;
    });
    this.#seed = (userId, inputs) => seed.immediate(userId, inputs);
    this.#getBySeq = db.prepare(
      'SELECT seq, id, title, content, created_at FROM documents WHERE user_id = ? AND id = ?',
    );
    this.#index = new SearchIndex(db);
    // A document and its index entries change together (and with them the user's documents version).
    this.#createTx = db.transaction((userId: string, doc: StoredDocument) => {
      const seq = Number(
        this.#insert.run(doc.id, userId, doc.title, doc.content, doc.createdAt).lastInsertRowid,
      );
      this.#index.add(userId, { seq, id: doc.id, title: doc.title, content: doc.content });
    });
    this.#deleteTx = db.transaction((userId: string, id: string): boolean => {
      const row = this.#getBySeq.get(userId, id);
      if (!row) return false;
      this.#index.remove(userId, row);
      return this.#delete.run(userId, id).changes === 1;
    });
  }

  createDocument(userId: string, input: DocumentInput): StoredDocument {
    const title = requireText(input?.title, 'title', DOCUMENT_LIMITS.titleMaxChars);
    const content = requireText(input?.content, 'content', DOCUMENT_LIMITS.contentMaxChars);
    const id = newId('doc');
    const createdAt = this.#now();
    const doc: StoredDocument = { id, title, content, createdAt, size: codePointLength(content) };
    this.#createTx(userId, doc);
    return doc;
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
    return toStoredDocument(r);
  }

  /** True when the caller's document existed and was deleted. */
  deleteDocument(userId: string, id: string): boolean {
    return this.#deleteTx(userId, id);
  }

  /** Adds `inputs` for `userId` when they have no documents yet, atomically; returns how many were added. */
  seedIfEmpty(userId: string, inputs: readonly DocumentInput[]): number {
    return this.#seed(userId, inputs);
  }

  countDocuments(userId: string): number {
    return this.#count.get(userId)?.n ?? 0;
  }

  /**
   * Fingerprint of the caller's document set: changes whenever one of their documents is added or
   * removed (cached answers are keyed by it).
   */
  documentsVersion(userId: string): string {
    return this.#index.documentsVersion(userId);
  }

  /**
   * The caller's relevant passages for free text `query`, best first, one per document (see
   * domain/search/relevance.ts: a passage must cover enough of the question; BM25 over the caller's own
   * passages orders them, so `score` is positive, higher is more relevant and depends only on the caller's
   * documents). Any input is safe; a question the documents do not answer gives [].
   */
  searchPassages(userId: string, query: string, limit = 3): Passage[] {
    return this.#index.search(userId, checkSearch(query, limit), limit);
  }
}
