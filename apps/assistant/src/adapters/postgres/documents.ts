// The user's documents in PostgreSQL and excerpt search over them. Every read is scoped by user id. A
// document, its passages and the user's search statistics and documents version change in one statement
// (search-index.ts), ranked by the same domain rules as the SQLite store (domain/search).
import type pg from 'pg';
import {
  checkSearch,
  DOCUMENT_LIMITS,
  MAX_LIST_LIMIT,
  requireLimit,
  requireOffset,
  requireText,
  toStoredDocument,
} from '../../domain/document-rules.js';
import { queryTerms } from '../../domain/search/text.js';
import { documentDigest } from '../../domain/search/version.js';
import type {
  DocumentInput,
  DocumentStore,
  DocumentSummary,
  Passage,
  StoredDocument,
} from '../../domain/storage.js';
import { codePointLength } from '../../domain/text.js';
import { newId } from '../db/ids.js';
import { inTransaction, query } from './pool.js';
import {
  deleteDocumentQuery,
  documentsVersion,
  insertDocumentQuery,
  searchPassages,
} from './search-index.js';

/** Advisory lock namespace for seeding a user's documents (the second key is the user id's hash). */
const SEED_LOCK = 0x73656564; // 'seed'

export class PgDocumentStore implements DocumentStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;

  constructor(pool: pg.Pool, options: { now?: () => number } = {}) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
  }

  /** The validated document and the INSERT that stores it. */
  #prepareInsert(userId: string, input: DocumentInput): { doc: StoredDocument; insert: pg.QueryConfig } {
    const title = requireText(input?.title, 'title', DOCUMENT_LIMITS.titleMaxChars);
    const content = requireText(input?.content, 'content', DOCUMENT_LIMITS.contentMaxChars);
    const doc = { id: newId('doc'), title, content, createdAt: this.#now(), size: codePointLength(content) };
    return { doc, insert: insertDocumentQuery(userId, doc) };
  }

  async createDocument(userId: string, input: DocumentInput): Promise<StoredDocument> {
    const { doc, insert } = this.#prepareInsert(userId, input);
    await query(this.#pool, insert);
    return doc;
  }

  async seedIfEmpty(userId: string, inputs: readonly DocumentInput[]): Promise<number> {
    const prepared = inputs.map((input) => this.#prepareInsert(userId, input));
    return inTransaction(this.#pool, async (client) => {
      // Instances starting together seed one at a time; the second then finds the documents there.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SEED_LOCK, userId]);
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*) AS n FROM documents WHERE user_id = $1',
        [userId],
      );
      if ((rows[0]?.n ?? 0) > 0) return 0;
      for (const { insert } of prepared) await client.query(insert);
      return prepared.length;
    });
  }

  async listDocuments(
    userId: string,
    options: { limit?: number; offset?: number } = {},
  ): Promise<DocumentSummary[]> {
    const limit = requireLimit(options.limit ?? 100, 'limit', MAX_LIST_LIMIT);
    const offset = requireOffset(options.offset ?? 0);
    const { rows } = await query<{ id: string; title: string; created_at: number; size: number }>(
      this.#pool,
      {
        name: 'documents_list',
        text: `SELECT id, title, created_at, size FROM documents WHERE user_id = $1
             ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3`,
        values: [userId, limit, offset],
      },
    );
    return rows.map((r) => ({ id: r.id, title: r.title, createdAt: r.created_at, size: r.size }));
  }

  async getDocument(userId: string, id: string): Promise<StoredDocument | null> {
    const { rows } = await query<{
      id: string;
      title: string;
      content: string;
      created_at: number;
    }>(this.#pool, {
      name: 'documents_get',
      text: 'SELECT id, title, content, created_at FROM documents WHERE user_id = $1 AND id = $2',
      values: [userId, id],
    });
    const r = rows[0];
    if (!r) return null;
    return toStoredDocument(r);
  }

  async deleteDocument(userId: string, id: string): Promise<boolean> {
    // Read first: the version subtracts the digest of what the document said (a document never changes).
    const found = await query<{ title: string; content: string }>(this.#pool, {
      name: 'documents_get_text',
      text: 'SELECT title, content FROM documents WHERE user_id = $1 AND id = $2',
      values: [userId, id],
    });
    const doc = found.rows[0];
    if (!doc) return false;
    const { rows } = await query<{ deleted: number }>(
      this.#pool,
      deleteDocumentQuery(userId, id, documentDigest(doc.title, doc.content)),
    );
    return rows[0]?.deleted === 1;
  }

  async countDocuments(userId: string): Promise<number> {
    const { rows } = await query<{ n: number }>(this.#pool, {
      name: 'documents_count',
      text: 'SELECT count(*) AS n FROM documents WHERE user_id = $1',
      values: [userId],
    });
    return rows[0]?.n ?? 0;
  }

  /**
   * Fingerprint of the user's document set (domain/search/version.ts: the sum of a hash of every
   * document's title and content), updated by the statements that add and delete documents: any change
   * to the set changes it, every instance reads the same value, and it equals the SQLite store's for the
   * same documents.
   */
  async documentsVersion(userId: string): Promise<string> {
    return documentsVersion(this.#pool, userId);
  }

  /**
   * The caller's relevant passages for free text `query`, best first, one per document: the passages of
   * the caller's documents holding any of the question's terms (GIN lookup by user and terms), kept and
   * ordered by domain/search/relevance.ts over the caller's own statistics — the same rules, and so the
   * same excerpts and scores, as the SQLite store. Any input is safe; a question the documents do not
   * answer gives [].
   */
  async searchPassages(userId: string, question: string, limit = 3): Promise<Passage[]> {
    return searchPassages(this.#pool, userId, queryTerms(checkSearch(question, limit)), limit);
  }
}
