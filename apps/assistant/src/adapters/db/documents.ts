// The user's documents (sermons) and full-text search over them. Every read is scoped by user id.
import type { Database, Statement } from 'better-sqlite3';
import { codePointLength, DomainTypeError, DomainValidationError } from '../../domain/text.js';
import { toFtsQuery } from './fts-query.js';
import { newId } from './ids.js';

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
/** Upper bound on an excerpt's length (characters, ellipses included). */
export const PASSAGE_MAX_CHARS = 600;
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
interface SearchRow {
  id: string;
  title: string;
  excerpt: string;
  bm25_score: number;
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

/** Caps an excerpt at `max` characters, cutting at a word boundary and marking the cut. */
function clip(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s…]+$/, '')}…`;
}

export class DocumentRepository {
  readonly #now: () => number;
  readonly #insert: Statement<[string, string, string, string, number]>;
  readonly #list: Statement<[string, number, number], SummaryRow>;
  readonly #get: Statement<[string, string], DocumentRow>;
  readonly #delete: Statement<[string, string]>;
  readonly #count: Statement<[string], { n: number }>;
  readonly #search: Statement<[string, string, number], SearchRow>;

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
    requireLimit(limit, 'limit', MAX_SEARCH_LIMIT);
    if (typeof query !== 'string') throw new TypeError('query must be a string');
    const match = toFtsQuery(query);
    if (match === null) return [];
    return this.#search.all(match, userId, limit).map((r) => ({
      documentId: r.id,
      title: r.title,
      text: clip(r.excerpt, PASSAGE_MAX_CHARS),
      score: -r.bm25_score,
    }));
  }
}
