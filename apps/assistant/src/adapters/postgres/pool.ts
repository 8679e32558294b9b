// The PostgreSQL connection pool (node-postgres). Why `pg` rather than `postgres` (postgres.js): the pool
// is an explicit object with a hard size, a checkout we hold for the migration's advisory lock and for
// transactions, per-connection `statement_timeout` sent at connect time, `connectionTimeoutMillis` for a
// database that does not answer, and an 'error' event for connections lost while idle, so a dead server is
// a log line and a failed query, never a crash; it is the most used PostgreSQL client for Node.js.
import pg from 'pg';

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
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable]';
  }
}

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
  const client = await pool.connect();
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
    throw err;
  } finally {
    client.release(broken);
  }
}
