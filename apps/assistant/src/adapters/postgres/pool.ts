// The PostgreSQL connection pool (node-postgres). Why `pg` rather than `postgres` (postgres.js): the pool
// is an explicit object with a hard size, a checkout we hold for the migration's advisory lock and for
// transactions, per-connection `statement_timeout` sent at connect time, `connectionTimeoutMillis` for a
// database that does not answer, and an 'error' event for connections lost while idle, so a dead server is
// a log line and a failed query, never a crash; it is the most used PostgreSQL client for Node.js.
import pg from 'pg';
import { StorageUnavailableError } from '../../domain/storage.js';
import { redactUrl } from '../redact-url.js';

export interface PoolSettings {
  /** Most connections this instance opens. Default 10, range [1, 100]. */
  max?: number;
  /** Server-side limit per statement (ms): a runaway query is cancelled. Default 5000, range [100, 600000]. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (new or from the pool) before failing. Default 5000, [100, 120000]. */
  connectTimeoutMs?: number;
  /** Connection errors seen while idle (the server went away); never thrown. */
  onError?: (err: Error) => void;
}

// bigint (int8) columns hold epoch-ms times and counts, all far below 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** The URL without its password, for log lines and start-up output. */
export const redactDatabaseUrl = redactUrl;

/** Throws a TypeError naming DATABASE_URL unless `url` is a postgres:// or postgresql:// URL. */
export function checkDatabaseUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw new TypeError(
      `DATABASE_URL must be a postgres:// or postgresql:// URL, got "${redactDatabaseUrl(url)}"`,
    );
  }
  return url;
}

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `PostgreSQL pool option ${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  }
  return value;
}

/** A bounded pool for `url`. Connections are opened lazily; `openPostgres` checks one works at start. */
export function createPool(url: string, settings: PoolSettings = {}): pg.Pool {
  checkDatabaseUrl(url);
  const statementTimeout = int('statementTimeoutMs', settings.statementTimeoutMs, 5000, 100, 600_000);
  const pool = new pg.Pool({
    connectionString: url,
    max: int('max', settings.max, 10, 1, 100),
    connectionTimeoutMillis: int('connectTimeoutMs', settings.connectTimeoutMs, 5000, 100, 120_000),
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeout,
    // The client also gives up a little after the server should have cancelled (a half-open TCP link).
    query_timeout: statementTimeout + 2000,
    // A transaction left open by a crashed request must not hold locks for long.
    idle_in_transaction_session_timeout: Math.max(statementTimeout * 2, 10_000),
    application_name: 'tripswitch-assistant',
    keepAlive: true,
    types,
  });
  pool.on('error', (err) => settings.onError?.(err));
  return pool;
}

/** Runs `fn` in a transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((err: unknown) => {
    throw asStorageError(err);
  });
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr; // the connection is unusable: do not return it to the pool
    });
    throw asStorageError(err);
  } finally {
    client.release(broken);
  }
}

/** SQLSTATE classes and codes that mean "the database cannot serve now", not "this request is wrong". */
function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // 08: connection exception; 53: insufficient resources; 57P0x: shutdown / cannot connect now;
    // 57014: cancelled (statement_timeout); 40001/40P01: serialization failure / deadlock (retryable).
    return /^(08|53|57P0)/.test(code) || ['57014', '40001', '40P01'].includes(code);
  }
  // No SQLSTATE: the client itself failed (refused, reset, terminated, timed out waiting for a connection).
  return !(err instanceof pg.DatabaseError);
}

/** A driver error as the service reports it: StorageUnavailableError (HTTP 503) when retrying may help. */
export function asStorageError(err: unknown): unknown {
  if (err instanceof StorageUnavailableError || !isUnavailable(err)) return err;
  return new StorageUnavailableError(undefined, { cause: err });
}

/** `pool.query` with errors mapped by `asStorageError`. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: pg.Pool,
  config: pg.QueryConfig,
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(config);
  } catch (err) {
    throw asStorageError(err);
  }
}
