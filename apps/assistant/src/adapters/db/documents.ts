// The user's documents (sermons) and full-text search over them. Every read is scoped by user id.
import type { Database, Statement } from 'better-sqlite3';
import { PASSAGE_MAX_CHARS } from '../../domain/search/passages.js';
import { codePointLength, DomainTypeError, DomainValidationError } from '../../domain/text.js';
import { newId } from './ids.js';
import { SearchIndex } from './search-index.js';

export { PASSAGE_MAX_CHARS };

/** A relevant excerpt of one document; the LLM client builds its prompt context from these. */
export type Passage = { documentId: string; title: string; text: string; score: number };

export interface DocumentInput {
  title: string;
  content: string;
}

export interface DocumentSummary {
  id: string;
  title: string;
  /** epoch ms */
  createdAt: number;
  /** content length in characters (Unicode code points, as everywhere in the service) */
  size: number;
}

export interface StoredDocument extends DocumentSummary {
  content: string;
}

/** Maximum lengths in Unicode code points (the same unit as the routes' JSON Schema `maxLength`). */
export const DOCUMENT_LIMITS = Object.freeze({ titleMaxChars: 300, contentMaxChars: 200_000 });
const MAX_SEARCH_LIMIT = 50;
const MAX_LIST_LIMIT = 1000;

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

function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new DomainTypeError(`${field} must be a string`);
  const trimmed = value.trim();
  const length = codePointLength(trimmed);
  if (length === 0 || length > max) {
    throw new DomainValidationError(`${field} must be 1-${max} characters (after trimming), got ${length}`);
  }
  return trimmed;
}

function requireLimit(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${field} must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
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
    const offset = options.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
    }
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
    return this.#deleteTx(userId, id);
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
    requireLimit(limit, 'limit', MAX_SEARCH_LIMIT);
    if (typeof query !== 'string') throw new TypeError('query must be a string');
    return this.#index.search(userId, query, limit);
  }
}
