// Versioned PostgreSQL schema. Each migration moves the schema from version N-1 to N, runs in its own
// transaction and is recorded in `schema_migrations`. All of it happens under a session advisory lock, so
// several instances starting together apply each migration exactly once: the first takes the lock and
// migrates, the others wait, then find nothing left to do. Never edit a shipped migration: add one.
import type pg from 'pg';
import { backfillSearchIndex } from './search-index.js';

export interface PgMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /** Runs after `sql`, in the same transaction: data the service itself computes (a search backfill). */
  readonly up?: (client: pg.PoolClient) => Promise<void>;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'users, documents with a per-user full-text index, durable jobs',
    sql: `
      -- btree_gin lets one GIN index hold (user_id, search): the user's id is part of the index lookup, so a
      -- search reads that user's postings, not every user's matches filtered afterwards.
      CREATE EXTENSION IF NOT EXISTS btree_gin;

      -- id is the configured user name (instances sharing Redis agree on it). token_hash is NULL when the
      -- user's token was revoked (removed from ASSISTANT_TOKENS).
      CREATE TABLE users (
        id         text PRIMARY KEY,
        name       text NOT NULL,
        token_hash text UNIQUE,
        created_at bigint NOT NULL
      );

      -- Times are epoch ms. size is the content's length in Unicode code points, the
      -- unit the API's limits use. search is built from the title (weight A) and content (weight B) after
      -- the service's own Unicode normalisation, with the language-neutral 'simple' configuration.
      CREATE TABLE documents (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         text NOT NULL UNIQUE,
        user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title      text NOT NULL,
        content    text NOT NULL,
        size       integer NOT NULL,
        created_at bigint NOT NULL,
        search     tsvector NOT NULL
      );
      CREATE INDEX documents_user_recent ON documents (user_id, created_at DESC, seq DESC);
      CREATE INDEX documents_user_search ON documents USING gin (user_id, search);

      -- query, options and result are JSON text: JSON escapes a NUL character, which a text value cannot hold.
      CREATE TABLE jobs (
        id               text PRIMARY KEY,
        user_id          text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        query            text NOT NULL,
        options          text NOT NULL DEFAULT '{}',
        status           text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'done', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
        next_run_at      bigint NOT NULL,
        lease_owner      text,
        lease_expires_at bigint,
        result           text,
        error            text,
        created_at       bigint NOT NULL,
        updated_at       bigint NOT NULL
      );
      CREATE INDEX jobs_queued ON jobs (next_run_at) WHERE status = 'queued';
      CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
      CREATE INDEX jobs_user_pending ON jobs (user_id) WHERE status IN ('queued', 'running');
      CREATE INDEX jobs_finished ON jobs (updated_at) WHERE status IN ('done', 'failed');
    `,
  },
  {
    version: 2,
    description: 'per-user passage index with the domain search rules (same ranking as SQLite)',
    sql: `
      -- A document's passages (domain/search/passages.ts): what search ranks and returns as excerpts.
      -- terms/counts are the passage's search terms (domain/search/text.ts, title terms included TITLE_WEIGHT
      -- times) and their counts, position by position; length is the sum of counts. search holds the same
      -- terms as lexemes, verbatim: no text search configuration re-parses them.
      CREATE TABLE passages (
        seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_seq bigint NOT NULL REFERENCES documents(seq) ON DELETE CASCADE,
        user_id text NOT NULL,
        text    text NOT NULL,
        length  integer NOT NULL,
        terms   text[] NOT NULL,
        counts  integer[] NOT NULL,
        search  tsvector GENERATED ALWAYS AS (array_to_tsvector(terms)) STORED
      );
      CREATE INDEX passages_doc ON passages (doc_seq);
      -- user_id is part of every lookup. fastupdate off: a search never scans a pending list of entries
      -- that other users' recent writes left there.
      CREATE INDEX passages_user_search ON passages USING gin (user_id, search) WITH (fastupdate = off);

      -- Per-user corpus statistics for BM25, and the fingerprint of the user's document set
      -- (domain/search/version.ts: the sum of the documents' digests modulo 2^128), kept in step by the
      -- statements that add and delete documents.
      CREATE TABLE search_stats (
        user_id           text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        passages          integer NOT NULL,
        total_length      bigint NOT NULL,
        documents_version numeric(39, 0) NOT NULL
      );

      DROP INDEX documents_user_search;
      ALTER TABLE documents DROP COLUMN search;

      -- The service never edits a document in place (it deletes and adds); an UPDATE of its text or owner
      -- would leave its passages, the statistics and the version describing the old one, so it is refused.
      CREATE FUNCTION documents_text_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'documents.title, content and user_id are not updated in place: delete the document and add it again'
          USING ERRCODE = 'feature_not_supported';
      END $$;
      CREATE TRIGGER documents_text_unchanged BEFORE UPDATE OF title, content, user_id ON documents
        FOR EACH ROW EXECUTE FUNCTION documents_text_unchanged();
    `,
    up: backfillSearchIndex,
  },
  {
    version: 3,
    description:
      'per-user postings (user_id, term, passage) replace the GIN index: search cost independent of other users',
    sql: `
      -- One row per term of a passage: a search reads one btree range per question term, holding only this
      -- user's passages with that term, however many other users hold the term too. (The GIN index over
      -- (user_id, search) kept the two columns' keys separately, so each lookup intersected the user's entry
      -- with the term's entry over all users.) term leads the key so the index can only be entered with the
      -- question's terms: with user_id first, a plan made without statistics yet (a new database) or a
      -- generic plan costed for a small user read the user's whole range and filtered the terms. tf is in the
      -- index, so the lookup can be index-only.
      CREATE TABLE passage_terms (
        user_id     text NOT NULL,
        term        text NOT NULL,
        passage_seq bigint NOT NULL,
        tf          integer NOT NULL,
        PRIMARY KEY (term, user_id, passage_seq) INCLUDE (tf)
      );
      INSERT INTO passage_terms (user_id, term, passage_seq, tf)
        SELECT p.user_id, t.term, p.seq, t.tf FROM passages p, unnest(p.terms, p.counts) AS t(term, tf);

      -- The database keeps passage_terms equal to the terms of the passages, whoever writes them: the service's
      -- single-statement insert and delete (search-index.ts), the cascade from a document or user deleted by
      -- hand. Statement triggers with transition tables: one call per statement, each row found by its key.
      CREATE FUNCTION passage_terms_add() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO passage_terms (user_id, term, passage_seq, tf)
          SELECT n.user_id, t.term, n.seq, t.tf FROM added n, unnest(n.terms, n.counts) AS t(term, tf);
        RETURN NULL;
      END $$;
      CREATE TRIGGER passage_terms_add AFTER INSERT ON passages REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION passage_terms_add();
      CREATE FUNCTION passage_terms_remove() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM passage_terms pt
          USING (SELECT o.user_id, o.seq, unnest(o.terms) AS term FROM removed o) AS g
          WHERE pt.user_id = g.user_id AND pt.term = g.term AND pt.passage_seq = g.seq;
        RETURN NULL;
      END $$;
      CREATE TRIGGER passage_terms_remove AFTER DELETE ON passages REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION passage_terms_remove();
      -- Passages are written once: an UPDATE would leave passage_terms (and search_stats) describing the old row.
      CREATE FUNCTION passages_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'passages are not updated in place: delete the document and add it again'
          USING ERRCODE = 'feature_not_supported';
      END $$;
      CREATE TRIGGER passages_unchanged BEFORE UPDATE OF user_id, terms, counts, length, doc_seq ON passages
        FOR EACH ROW EXECUTE FUNCTION passages_unchanged();

      DROP INDEX passages_user_search;
      ALTER TABLE passages DROP COLUMN search;
    `,
  },
];

export const PG_LATEST_VERSION = PG_MIGRATIONS.length;

/** Arbitrary constant naming "this service's schema" among advisory locks (two int4 keys). */
const LOCK_KEYS = [0x74726970, 0x6d696772]; // 'trip', 'migr'

/** A migration failed: the service must not start on a half-known schema. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly version: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Applies every pending migration of `migrations` (default: the service's) and returns how many it applied.
 * Throws MigrationError when one fails (that migration is rolled back; earlier ones stay applied) or when
 * the database is at a version newer than this build knows.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Waits for another instance's migration; statement_timeout does not apply to an advisory lock wait
    // that is really progress elsewhere, so lift it for this session's lock call only.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1, $2)', LOCK_KEYS);
    try {
      await client.query('RESET statement_timeout');
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version     integer PRIMARY KEY,
           description text NOT NULL,
           applied_at  timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM schema_migrations',
      );
      const current = rows[0]?.v ?? 0;
      const latest = migrations.length;
      if (current > latest) {
        throw new MigrationError(
          `database schema version ${current} is newer than this build supports (${latest}); refusing to run against it`,
          current,
        );
      }
      let applied = 0;
      for (const m of migrations) {
        if (m.version <= current) continue;
        try {
          await client.query('BEGIN');
          await client.query(m.sql);
          await m.up?.(client);
          await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
            m.version,
            m.description,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new MigrationError(
            `database migration ${m.version} ("${m.description}") failed: ${(err as Error)?.message}; ` +
              'it was rolled back and the service did not start',
            m.version,
            { cause: err },
          );
        }
        applied++;
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', LOCK_KEYS).catch((err: Error) => {
        broken = err; // closing the connection releases the lock anyway
      });
    }
  } finally {
    client.release(broken);
  }
}

/** The schema version recorded in the database (after `migratePostgres` has run once). */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}
