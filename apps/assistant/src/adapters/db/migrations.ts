// Versioned schema. Each entry moves the database from version N to N+1 and is applied once, inside a
// transaction, with the result recorded in SQLite's own `PRAGMA user_version`. Never edit a shipped
// migration: add a new one, so existing database files upgrade in place.
import type { Database } from 'better-sqlite3';
import { SearchIndex } from './search-index.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, documents with FTS5 index, durable jobs',
    up(db) {
      db.exec(`
        -- id is the configured user name, so instances sharing Redis (cache keys, BullMQ jobs) agree on it.
        -- token_hash is NULL when the user's token has been revoked (removed from ASSISTANT_TOKENS).
        CREATE TABLE users (
          id         TEXT PRIMARY KEY,
          name       TEXT NOT NULL,
          token_hash TEXT UNIQUE,
          created_at INTEGER NOT NULL
        );

        -- id is the public key. seq is the internal integer rowid the FTS5 index points at: an implicit
        -- rowid is not stable across VACUUM, an INTEGER PRIMARY KEY is.
        CREATE TABLE documents (
          seq        INTEGER PRIMARY KEY,
          id         TEXT NOT NULL UNIQUE,
          user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          title      TEXT NOT NULL,
          content    TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX documents_user ON documents(user_id, created_at);

        -- External-content index: text lives once, in documents; triggers keep the index in step.
        -- porter stemming lets "forgiveness" find "forgive".
        CREATE VIRTUAL TABLE documents_fts USING fts5(
          title, content,
          content='documents', content_rowid='seq',
          tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
          INSERT INTO documents_fts(rowid, title, content) VALUES (new.seq, new.title, new.content);
        END;
        CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
          INSERT INTO documents_fts(documents_fts, rowid, title, content)
            VALUES ('delete', old.seq, old.title, old.content);
        END;
        CREATE TRIGGER documents_au AFTER UPDATE OF title, content ON documents BEGIN
          INSERT INTO documents_fts(documents_fts, rowid, title, content)
            VALUES ('delete', old.seq, old.title, old.content);
          INSERT INTO documents_fts(rowid, title, content) VALUES (new.seq, new.title, new.content);
        END;

        -- Times are epoch milliseconds. options/result are JSON text.
        CREATE TABLE jobs (
          id               TEXT PRIMARY KEY,
          user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          query            TEXT NOT NULL,
          options          TEXT NOT NULL DEFAULT '{}',
          status           TEXT NOT NULL DEFAULT 'queued'
                           CHECK (status IN ('queued', 'running', 'done', 'failed')),
          attempts         INTEGER NOT NULL DEFAULT 0,
          max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
          next_run_at      INTEGER NOT NULL,
          lease_owner      TEXT,
          lease_expires_at INTEGER,
          result           TEXT,
          error            TEXT,
          created_at       INTEGER NOT NULL,
          updated_at       INTEGER NOT NULL
        );
        CREATE INDEX jobs_due ON jobs(status, next_run_at);
        CREATE INDEX jobs_lease ON jobs(status, lease_expires_at);
        CREATE INDEX jobs_user ON jobs(user_id);
      `);
    },
  },
  {
    version: 2,
    description: 'per-user passage index (normalised terms, per-user statistics) replaces FTS5',
    up(db) {
      db.exec(`
        DROP TRIGGER documents_ai;
        DROP TRIGGER documents_ad;
        DROP TRIGGER documents_au;
        DROP TABLE documents_fts;

        -- A document's passages (domain/search/passages.ts): what search ranks and returns as excerpts.
        -- length is in terms, title terms included (see domain/search/relevance.ts).
        CREATE TABLE passages (
          seq     INTEGER PRIMARY KEY,
          doc_seq INTEGER NOT NULL REFERENCES documents(seq) ON DELETE CASCADE,
          text    TEXT NOT NULL,
          length  INTEGER NOT NULL
        );
        CREATE INDEX passages_doc ON passages(doc_seq);

        -- The inverted index, keyed by user first: one user's lookup of a term reads only that user's
        -- entries, however many documents other users have (and their terms cannot sway its statistics).
        CREATE TABLE postings (
          user_id     TEXT NOT NULL,
          term        TEXT NOT NULL,
          passage_seq INTEGER NOT NULL,
          tf          INTEGER NOT NULL,
          PRIMARY KEY (user_id, term, passage_seq)
        ) WITHOUT ROWID;

        -- Per-user corpus statistics for BM25, and the fingerprint of the user's document set (cached
        -- answers are keyed by it, so a change of documents makes them unreachable).
        CREATE TABLE search_stats (
          user_id           TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
          passages          INTEGER NOT NULL,
          total_length      INTEGER NOT NULL,
          documents_version TEXT NOT NULL
        );
      `);
      const index = new SearchIndex(db);
      const docs = db
        .prepare('SELECT seq, id, user_id, title, content FROM documents ORDER BY seq')
        .all() as {
        seq: number;
        id: string;
        user_id: string;
        title: string;
        content: string;
      }[];
      for (const d of docs)
        index.add(d.user_id, { seq: d.seq, id: d.id, title: d.title, content: d.content });
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Applies every pending migration. Runs under BEGIN IMMEDIATE and re-reads the version inside the
 * transaction, so two processes opening the same new file at once cannot both apply version 1.
 * Returns the number of migrations applied (0 when already current).
 */
export function migrate(db: Database): number {
  const run = db.transaction((): number => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > LATEST_SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${current} is newer than this build supports (${LATEST_SCHEMA_VERSION}); ` +
          'refusing to run against it',
      );
    }
    let applied = 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      m.up(db);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.pragma(`user_version = ${m.version}`);
      applied++;
    }
    return applied;
  });
  return run.immediate();
}
