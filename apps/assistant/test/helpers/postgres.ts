// Test helper: a real PostgreSQL database of its own per test file. The server is the machine's
// (127.0.0.1:5432, trust auth, user postgres; `.ci/run` starts it where none runs), or the one named by
// TEST_POSTGRES_URL. Each call creates a database with a random name and drops it afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let reachable: Promise<false | string> | undefined;

/**
 * The `skip` value for a suite that needs PostgreSQL: false when the server answers; otherwise a reason
 * (after a loud notice). Under CI=true an unreachable server throws instead: CI must not pass silently.
 */
export function skipWithoutPostgres(): Promise<false | string> {
  reachable ??= adminQuery('SELECT 1').then(
    () => false as const,
    (err: Error) => {
      const reason = `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}: ${err.message}`;
      if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
      console.error(`\n*** SKIPPING PostgreSQL tests: ${reason} ***\n`);
      return reason;
    },
  );
  return reachable;
}

export interface TestDatabase {
  /** postgres:// URL of the new database. */
  url: string;
  name: string;
  /** Drops the database (closing every connection still open to it). Idempotent. */
  drop(): Promise<void>;
}

/** Creates an empty database with a random name. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `assistant_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop() {
      dropped ??= adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return dropped;
    },
  };
}
