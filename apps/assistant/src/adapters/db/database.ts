// Opening the embedded SQLite database: pragmas for a concurrent web service, then migrations.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, migrate } from './migrations.js';

export type { Database } from 'better-sqlite3';

export interface OpenDatabaseOptions {
  /** How long a writer waits for another connection's lock before SQLITE_BUSY (ms, default 5000). */
  busyTimeoutMs?: number;
}

function isMemoryPath(path: string): boolean {
  return path === '' || path === ':memory:' || path.startsWith('file::memory:');
}

/**
 * Opens (creating if needed) the database at `path` and brings its schema up to date.
 * WAL lets readers (health checks, GET routes) proceed while a writer commits; synchronous=NORMAL is
 * durable against process crashes in WAL mode, which is the failure we plan for.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database {
  if (typeof path !== 'string') throw new TypeError('openDatabase: path must be a string');
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 600_000) {
    throw new RangeError(`busyTimeoutMs must be an integer in [0, 600000], got ${busyTimeoutMs}`);
  }
  if (!isMemoryPath(path)) mkdirSync(dirname(path), { recursive: true });

  const db = new BetterSqlite3(path, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Readiness probe: true when the connection is open, answers a query and has the expected schema.
 * Cheap enough for every /health/ready call (one indexed read of a pragma). Never throws.
 */
export function checkDatabase(db: Database): boolean {
  try {
    if (!db.open) return false;
    return db.pragma('user_version', { simple: true }) === LATEST_SCHEMA_VERSION;
  } catch {
    return false;
  }
}
