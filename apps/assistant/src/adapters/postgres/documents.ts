// The user's documents in PostgreSQL and full-text search over them. Every read is scoped by user id, and
// the search's user scope is part of the index lookup: `documents_user_search` is one GIN index over
// (user_id, search), so PostgreSQL intersects the user's posting list with the question's terms instead of
// finding every user's matches and filtering them afterwards.
import type pg from 'pg';
import {
  checkSearch,
  DOCUMENT_LIMITS,
  MAX_LIST_LIMIT,
  PASSAGE_MAX_CHARS,
  requireLimit,
  requireOffset,
  requireText,
  toStoredDocument,
} from '../../domain/document-rules.js';
import { queryTerms, termsOf } from '../../domain/search/text.js';
import type {
  DocumentInput,
  DocumentStore,
  DocumentSummary,
  Passage,
  StoredDocument,
} from '../../domain/storage.js';
import { clipText, codePointLength } from '../../domain/text.js';
import { newId } from '../db/ids.js';
import { inTransaction, query } from './pool.js';

/** Advisory lock namespace for seeding a user's documents (the second key is the user id's hash). */
const SEED_LOCK = 0x73656564; // 'seed'

/**
 * Indexed text is the search terms of domain/search/text.ts (Unicode folding, stop words, stemming), the
 * same function the question goes through, so both sides normalise alike (DESIGN 3.2).
 */
export function searchableText(text: string): string {
  return termsOf(text).join(' ');
}

interface SearchRow {
  id: string;
  title: string;
  excerpt: string;
  rank: number;
}

// The question's terms are letters and digits only, joined by ' or ': websearch_to_tsquery never raises
// on any input, and with these words it means "any of them". 'simple' (no stemming, no stop words) suits
// every language alike; the service drops its own stop words before the terms reach the database.
// ts_rank reads only the matched document itself (no corpus statistics), so one user's score never
// depends on anyone else's documents; the headline is computed for the top rows only.
const SEARCH_SQL = `
  WITH q AS (SELECT websearch_to_tsquery('simple', $2) AS q),
  hits AS (
    SELECT d.seq, ts_rank(d.search, q.q) AS rank
    FROM documents d, q
    WHERE d.user_id = $1 AND d.search @@ q.q
    ORDER BY rank DESC, d.seq
    LIMIT $3
  )
  SELECT d.id, d.title, h.rank,
         ts_headline('simple', d.content, q.q,
           'StartSel="", StopSel="", MaxWords=60, MinWords=25, MaxFragments=1') AS excerpt
  FROM hits h JOIN documents d ON d.seq = h.seq, q
  ORDER BY h.rank DESC, h.seq`;

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
    const insert = {
      name: 'documents_insert',
      text: `INSERT INTO documents (id, user_id, title, content, size, created_at, search)
             VALUES ($1, $2, $3, $4, $5, $6,
                     setweight(to_tsvector('simple', $7), 'A') || setweight(to_tsvector('simple', $8), 'B'))`,
      values: [
        doc.id,
        userId,
        title,
        content,
        doc.size,
        doc.createdAt,
        searchableText(title),
        searchableText(content),
      ],
    };
    return { doc, insert };
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
    const res = await query(this.#pool, {
      name: 'documents_delete',
      text: 'DELETE FROM documents WHERE user_id = $1 AND id = $2',
      values: [userId, id],
    });
    return res.rowCount === 1;
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
   * Fingerprint of the user's document set: the newest document's sequence number and the count, so any
   * addition or removal changes it; every instance reads the same database, so they agree on it.
   */
  async documentsVersion(userId: string): Promise<string> {
    const { rows } = await query<{ v: string }>(this.#pool, {
      name: 'documents_version',
      text: `SELECT coalesce(max(seq), 0)::text || ':' || count(*)::text AS v FROM documents WHERE user_id = $1`,
      values: [userId],
    });
    return rows[0]?.v ?? '0:0';
  }

  async searchPassages(userId: string, question: string, limit = 3): Promise<Passage[]> {
    const terms = queryTerms(checkSearch(question, limit));
    if (terms.length === 0) return [];
    const { rows } = await query<SearchRow>(this.#pool, {
      name: 'documents_search',
      text: SEARCH_SQL,
      values: [userId, terms.join(' or '), limit],
    });
    return rows.map((r) => ({
      documentId: r.id,
      title: r.title,
      text: clipText(r.excerpt, PASSAGE_MAX_CHARS),
      score: r.rank,
    }));
  }
}
