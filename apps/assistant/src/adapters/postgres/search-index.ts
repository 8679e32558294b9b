// The PostgreSQL storage of excerpt search: passages with their terms (migration 2), a per-user postings
// table passage_terms keyed (term, user_id, passage_seq) that triggers keep equal to the passages' terms
// (migration 3), and per-user statistics with the documents version. What a term is, what a passage is and
// what is relevant are decided in domain/search — the same functions the SQLite adapter calls — so both
// stores give the same excerpts and scores for the same documents. This file only stores and looks up.
import type pg from 'pg';
import {
  candidatesFromPostings,
  type IndexedPassage,
  indexDocument,
  type PostingRow,
} from '../../domain/search/indexing.js';
import { type CorpusStats, rankPassages } from '../../domain/search/relevance.js';
import {
  documentDigest,
  EMPTY_DOCUMENTS_VERSION,
  formatDocumentsVersion,
  VERSION_MODULUS,
} from '../../domain/search/version.js';
import { query } from './pool.js';

/** A relevant passage as search returns it. */
export interface SearchHit {
  documentId: string;
  title: string;
  text: string;
  score: number;
}

const MODULUS = VERSION_MODULUS.toString();

/** A document's passages as the insert statement's array parameters. Terms never contain a space. */
function passageArrays(passages: readonly IndexedPassage[]): [string[], number[], string[], string[]] {
  return [
    passages.map((p) => p.text),
    passages.map((p) => p.length),
    passages.map((p) => [...p.tf.keys()].join(' ')),
    passages.map((p) => [...p.tf.values()].join(' ')),
  ];
}

function lengthOf(passages: readonly IndexedPassage[]): number {
  let n = 0;
  for (const p of passages) n += p.length;
  return n;
}

/**
 * One statement that stores a document, its passages (their postings by trigger, migration 3) and the
 * user's new statistics and version: atomic
 * without a transaction, and the statistics row is updated in place (ON CONFLICT), so concurrent writers
 * on any instance add up. The passages are inserted in order, so their numbers follow the text.
 */
export function insertDocumentQuery(
  userId: string,
  doc: { id: string; title: string; content: string; size: number; createdAt: number },
): pg.QueryConfig {
  const passages = indexDocument(doc.title, doc.content);
  return {
    name: 'documents_insert',
    text: `
      WITH d AS (
        INSERT INTO documents (id, user_id, title, content, size, created_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING seq
      ), p AS (
        INSERT INTO passages (doc_seq, user_id, text, length, terms, counts)
        SELECT d.seq, $2, x.text, x.length, string_to_array(x.terms, ' '), string_to_array(x.counts, ' ')::integer[]
        FROM d, unnest($7::text[], $8::integer[], $9::text[], $10::text[])
             WITH ORDINALITY AS x(text, length, terms, counts, n)
        ORDER BY x.n
      )
      INSERT INTO search_stats AS s (user_id, passages, total_length, documents_version)
      SELECT $2, $11, $12, $13::numeric FROM d
      ON CONFLICT (user_id) DO UPDATE SET
        passages = s.passages + excluded.passages,
        total_length = s.total_length + excluded.total_length,
        documents_version = mod(s.documents_version + excluded.documents_version, ${MODULUS})`,
    values: [
      doc.id,
      userId,
      doc.title,
      doc.content,
      doc.size,
      doc.createdAt,
      ...passageArrays(passages),
      passages.length,
      lengthOf(passages),
      documentDigest(doc.title, doc.content).toString(),
    ],
  };
}

/**
 * One statement that deletes the user's document (its passages go by cascade, their postings by trigger) and takes it out of the
 * user's statistics and version; `digest` is documentDigest of the document's title and content. Returns
 * one row, `deleted` 0 or 1: a document deleted twice at once counts once.
 */
export function deleteDocumentQuery(userId: string, id: string, digest: bigint): pg.QueryConfig {
  return {
    name: 'documents_delete',
    text: `
      WITH d AS (
        DELETE FROM documents WHERE user_id = $1 AND id = $2 RETURNING seq
      ), p AS (
        SELECT count(*)::integer AS n, coalesce(sum(length), 0)::bigint AS len
        FROM passages WHERE doc_seq IN (SELECT seq FROM d)
      ), s AS (
        UPDATE search_stats s SET
          passages = s.passages - p.n,
          total_length = s.total_length - p.len,
          documents_version = mod(s.documents_version - $3::numeric + ${MODULUS}, ${MODULUS})
        FROM d, p WHERE s.user_id = $1
        RETURNING 1
      )
      SELECT count(*)::integer AS deleted FROM d`,
    values: [userId, id, digest.toString()],
  };
}

/** The user's documents version (domain/search/version.ts). */
export async function documentsVersion(db: pg.Pool, userId: string): Promise<string> {
  const { rows } = await query<{ v: string }>(db, {
    name: 'documents_version',
    text: 'SELECT documents_version::text AS v FROM search_stats WHERE user_id = $1',
    values: [userId],
  });
  const v = rows[0]?.v;
  return v === undefined ? EMPTY_DOCUMENTS_VERSION : formatDocumentsVersion(BigInt(v));
}

interface CandidateRow extends PostingRow {
  stat_passages: number;
  stat_length: number;
}

/**
 * Every passage of the user holding one of the terms, with the counts of those terms and the user's
 * statistics, in one statement (one snapshot). passage_terms' primary key (term, user_id, passage_seq) makes
 * each term one range read of this user's entries: other users' rows are never read.
 */
const CANDIDATES_SQL = `
  SELECT s.passages AS stat_passages, s.total_length AS stat_length,
         p.seq AS passage, p.doc_seq::text AS document, p.length, t.term, t.tf
  FROM search_stats s
  JOIN passage_terms t ON t.user_id = s.user_id
  JOIN passages p ON p.seq = t.passage_seq
  WHERE s.user_id = $1 AND t.user_id = $1 AND t.term = ANY($2::text[])`;

/** The user's relevant passages for the (already folded) `terms`, best first, one per document. */
export async function searchPassages(
  db: pg.Pool,
  userId: string,
  terms: readonly string[],
  limit: number,
): Promise<SearchHit[]> {
  if (terms.length === 0) return [];
  const { rows } = await query<CandidateRow>(db, {
    name: 'passages_candidates',
    text: CANDIDATES_SQL,
    values: [userId, terms],
  });
  const first = rows[0];
  if (first === undefined) return [];
  const stats: CorpusStats = { passages: first.stat_passages, totalLength: first.stat_length };
  const ranked = rankPassages(terms, stats, candidatesFromPostings(rows), limit);
  if (ranked.length === 0) return [];
  const texts = await query<{ passage: number; text: string; id: string; title: string }>(db, {
    name: 'passages_texts',
    text: `SELECT p.seq AS passage, p.text, d.id, d.title
           FROM passages p JOIN documents d ON d.seq = p.doc_seq
           WHERE p.user_id = $1 AND p.seq = ANY($2::bigint[])`,
    values: [userId, ranked.map((r) => r.id)],
  });
  const byPassage = new Map(texts.rows.map((r) => [r.passage, r]));
  // A document deleted between the two reads is left out.
  return ranked.flatMap((hit) => {
    const p = byPassage.get(hit.id);
    return p ? [{ documentId: p.id, title: p.title, text: p.text, score: hit.score }] : [];
  });
}

/** Migration 2: indexes the documents stored before it, and sets every user's statistics and version. */
export async function backfillSearchIndex(client: pg.PoolClient): Promise<void> {
  const BATCH = 200;
  let after = 0;
  for (;;) {
    const { rows } = await client.query<{
      seq: string;
      user_id: string;
      title: string;
      content: string;
    }>(
      'SELECT seq::text AS seq, user_id, title, content FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, BATCH],
    );
    for (const d of rows) {
      const passages = indexDocument(d.title, d.content);
      await client.query(
        `WITH p AS (
           INSERT INTO passages (doc_seq, user_id, text, length, terms, counts)
           SELECT $1, $2, x.text, x.length, string_to_array(x.terms, ' '), string_to_array(x.counts, ' ')::integer[]
           FROM unnest($3::text[], $4::integer[], $5::text[], $6::text[])
                WITH ORDINALITY AS x(text, length, terms, counts, n)
           ORDER BY x.n
         )
         INSERT INTO search_stats AS s (user_id, passages, total_length, documents_version)
         VALUES ($2, $7, $8, $9::numeric)
         ON CONFLICT (user_id) DO UPDATE SET
           passages = s.passages + excluded.passages,
           total_length = s.total_length + excluded.total_length,
           documents_version = mod(s.documents_version + excluded.documents_version, ${MODULUS})`,
        [
          d.seq,
          d.user_id,
          ...passageArrays(passages),
          passages.length,
          lengthOf(passages),
          documentDigest(d.title, d.content).toString(),
        ],
      );
    }
    if (rows.length < BATCH) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}
