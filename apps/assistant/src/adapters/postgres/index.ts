// The PostgreSQL storage adapter (DATABASE_URL): users, documents and the job table behind one pool.
import type pg from 'pg';
import type { Storage } from '../../domain/storage.js';
import { PgDocumentStore } from './documents.js';
import { PgJobStore } from './jobs.js';
import { MigrationError, migratePostgres, PG_LATEST_VERSION, schemaVersion } from './migrations.js';
import { createPool, type PoolSettings, redactDatabaseUrl } from './pool.js';
import { PgUserStore } from './users.js';

export { MigrationError } from './migrations.js';
export { checkDatabaseUrl, redactDatabaseUrl } from './pool.js';

/** The database could not be reached at start (wrong URL, server down, authentication refused). */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

export interface PostgresStorage extends Storage {
  readonly kind: 'postgres';
  readonly pool: pg.Pool;
  readonly users: PgUserStore;
  readonly documents: PgDocumentStore;
  readonly jobs: PgJobStore;
}

/**
 * Connects to `url`, applies pending migrations (under an advisory lock: instances starting together
 * migrate once) and returns the stores. Throws DatabaseUnavailableError when the server cannot be reached
 * and MigrationError when the schema cannot be brought up to date; the pool is closed in both cases.
 */
export async function openPostgres(
  url: string,
  settings: PoolSettings & { now?: () => number } = {},
): Promise<PostgresStorage> {
  const pool = createPool(url, settings);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(
      `cannot connect to PostgreSQL at ${redactDatabaseUrl(url)}: ${(err as Error)?.message || String(err)}`,
      { cause: err },
    );
  }
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof MigrationError) throw err;
    throw new MigrationError(`database migration failed: ${(err as Error)?.message}`, 0, { cause: err });
  }
  const clock = settings.now ? { now: settings.now } : {};
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    pool,
    users: new PgUserStore(pool),
    documents: new PgDocumentStore(pool, clock),
    jobs: new PgJobStore(pool, clock),
    async ready() {
      try {
        return (await schemaVersion(pool)) === PG_LATEST_VERSION;
      } catch {
        return false;
      }
    },
    close() {
      closed ??= pool.end().catch(() => {});
      return closed;
    },
  };
}
