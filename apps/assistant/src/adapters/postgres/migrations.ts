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
