// Starting against PostgreSQL: migrations applied once under the advisory lock however many instances
// start together, recorded in schema_migrations; a failed migration stops the start with a clear message
// and leaves nothing of itself behind; an unreachable server is a clear error.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DatabaseUnavailableError, openPostgres } from '../../src/adapters/postgres/index.js';
import {
  MigrationError,
  migratePostgres,
  PG_LATEST_VERSION,
  PG_MIGRATIONS,
  schemaVersion,
} from '../../src/adapters/postgres/migrations.js';
import { createPool } from '../../src/adapters/postgres/pool.js';
import { insertDocumentQuery } from '../../src/adapters/postgres/search-index.js';
import { SAMPLE_SERMONS } from '../../src/corpus/sermons.js';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from '../helpers/postgres.js';

const databases: TestDatabase[] = [];
after(async () => {
  await Promise.allSettled(databases.map((d) => d.drop()));
});
async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

describe('PostgreSQL start-up', { skip: await skipWithoutPostgres() }, () => {
  test('five instances starting at once apply each migration exactly once', async () => {
    const db = await freshDatabase();
    const pools = Array.from({ length: 5 }, () => createPool(db.url, { max: 2 }));
    try {
      const applied = await Promise.all(pools.map((p) => migratePostgres(p)));
      assert.deepEqual(
        applied.toSorted((a, b) => b - a),
        [PG_LATEST_VERSION, 0, 0, 0, 0],
      );
      const { rows } = await pools[0]!.query(
        'SELECT version, description FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        PG_MIGRATIONS.map((m) => m.version),
      );
      assert.equal(await migratePostgres(pools[1]!), 0, 'a restart applies nothing');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test('a failed migration stops with a message naming it; its changes are rolled back', async () => {
    const db = await freshDatabase();
    const pool = createPool(db.url, { max: 2 });
    try {
      const broken = [
        ...PG_MIGRATIONS,
        {
          version: PG_LATEST_VERSION + 1,
          description: 'add a column twice',
          sql: 'ALTER TABLE users ADD COLUMN nickname text; ALTER TABLE users ADD COLUMN nickname text;',
        },
      ];
      await assert.rejects(
        migratePostgres(pool, broken),
        (err: Error) =>
          err instanceof MigrationError &&
          err.version === PG_LATEST_VERSION + 1 &&
          /migration \d+ \("add a column twice"\) failed: .*nickname.*rolled back/.test(err.message),
      );
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'`,
      );
      assert.equal(rows[0].n, 0, 'nothing of the failed migration remains');
      const versions = await pool.query('SELECT max(version) AS v FROM schema_migrations');
      assert.equal(versions.rows[0].v, PG_LATEST_VERSION, 'the earlier migrations stay recorded');
      // The lock was released: a correct build starts.
      assert.equal(await migratePostgres(pool), 0);
    } finally {
      await pool.end();
    }
  });

  test('a database newer than this build is refused', async () => {
    const db = await freshDatabase();
    const pool = createPool(db.url, { max: 1 });
    try {
      await migratePostgres(pool);
      await pool.query(
        `INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')`,
      );
      await assert.rejects(openPostgres(db.url), /schema version 999 is newer than this build supports/);
    } finally {
      await pool.end();
    }
  });

  test('migration 2 indexes the documents a version-1 database holds, with their statistics and version', async () => {
    const db = await freshDatabase();
    const pool = createPool(db.url, { max: 1 });
    const sermons = SAMPLE_SERMONS.slice(0, 3);
    try {
      await migratePostgres(pool, PG_MIGRATIONS.slice(0, 1));
      await pool.query(
        `INSERT INTO users (id, name, created_at) VALUES ('alice', 'alice', 0), ('bob', 'bob', 0)`,
      );
      for (const [i, d] of sermons.entries()) {
        await pool.query(
          `INSERT INTO documents (id, user_id, title, content, size, created_at, search)
           VALUES ($1, 'alice', $2, $3, 1, 0, to_tsvector('simple', $3))`,
          [`d${i}`, d.title, d.content],
        );
      }
    } finally {
      await pool.end();
    }
    const upgraded = await openPostgres(db.url, { max: 2 });
    try {
      const fresh = await openPostgres((await freshDatabase()).url, { max: 2 });
      try {
        await fresh.users.ensureUsers([{ token: 'alice-token-0123456789', user: 'alice' }]);
        for (const d of sermons) await fresh.documents.createDocument('alice', d);
        const question = 'Why did the prodigal son come home?';
        const strip = (hits: Array<{ title: string; text: string; score: number }>) =>
          hits.map((h) => ({ title: h.title, text: h.text, score: h.score }));
        const hits = await upgraded.documents.searchPassages('alice', question);
        assert.ok(hits.length > 0);
        assert.deepEqual(strip(hits), strip(await fresh.documents.searchPassages('alice', question)));
        assert.equal(
          await upgraded.documents.documentsVersion('alice'),
          await fresh.documents.documentsVersion('alice'),
        );
        assert.equal(
          await upgraded.documents.documentsVersion('bob'),
          await fresh.documents.documentsVersion('bob'),
        );
        assert.equal(await upgraded.documents.deleteDocument('alice', 'd0'), true);
        assert.equal(await upgraded.documents.countDocuments('alice'), 2);
      } finally {
        await fresh.close();
      }
    } finally {
      await upgraded.close();
    }
  });

  test("migration 3 builds the per-user postings from a version-2 database's passages, same excerpts", async () => {
    const db = await freshDatabase();
    const pool = createPool(db.url, { max: 1 });
    const sermons = SAMPLE_SERMONS.slice(0, 6);
    try {
      await migratePostgres(pool, PG_MIGRATIONS.slice(0, 2));
      await pool.query(
        `INSERT INTO users (id, name, created_at) VALUES ('alice', 'alice', 0), ('bob', 'bob', 0)`,
      );
      // Written by the version-2 service's statement (its columns are unchanged by migration 3).
      for (const [i, d] of sermons.entries()) {
        const owner = i % 2 === 0 ? 'alice' : 'bob';
        await pool.query(insertDocumentQuery(owner, { id: `d${i}`, ...d, size: 1, createdAt: i }));
      }
    } finally {
      await pool.end();
    }
    const upgraded = await openPostgres(db.url, { max: 2 });
    try {
      assert.equal(await schemaVersion(upgraded.pool), PG_LATEST_VERSION);
      const { rows } = await upgraded.pool.query(
        `SELECT (SELECT count(*) FROM passage_terms)::int AS postings,
                (SELECT coalesce(sum(cardinality(terms)), 0) FROM passages)::int AS terms`,
      );
      assert.ok(rows[0].postings > 0);
      assert.equal(rows[0].postings, rows[0].terms, 'one posting per term of every passage');
      const fresh = await openPostgres((await freshDatabase()).url, { max: 2 });
      try {
        await fresh.users.ensureUsers([
          { token: 'alice-token-0123456789', user: 'alice' },
          { token: 'bob-token-0123456789ab', user: 'bob' },
        ]);
        for (const [i, d] of sermons.entries())
          await fresh.documents.createDocument(i % 2 === 0 ? 'alice' : 'bob', d);
        const strip = (hits: Array<{ title: string; text: string; score: number }>) =>
          hits.map((h) => ({ title: h.title, text: h.text, score: h.score }));
        for (const user of ['alice', 'bob']) {
          for (const question of [
            'Why did the prodigal son come home?',
            'What is mercy?',
            'God loves the lost',
          ]) {
            const hits = await upgraded.documents.searchPassages(user, question, 5);
            assert.deepEqual(strip(hits), strip(await fresh.documents.searchPassages(user, question, 5)));
          }
        }
        assert.ok((await upgraded.documents.searchPassages('alice', 'prodigal son')).length > 0);
        assert.equal(await upgraded.documents.deleteDocument('alice', 'd0'), true);
        const left = await upgraded.pool.query(
          `SELECT count(*)::int AS n FROM passage_terms t
           WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.seq = t.passage_seq)`,
        );
        assert.equal(left.rows[0].n, 0, 'the deleted document leaves no postings');
      } finally {
        await fresh.close();
      }
    } finally {
      await upgraded.close();
    }
  });

  test('an unreachable server is a clear error that names the redacted URL', async () => {
    // A free port on loopback: nothing listens there.
    const url = 'postgres://postgres:s3cret@127.0.0.1:1/nowhere';
    await assert.rejects(
      openPostgres(url, { connectTimeoutMs: 2000 }),
      (err: Error) =>
        err instanceof DatabaseUnavailableError &&
        /cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nowhere/.test(
          err.message,
        ) &&
        !err.message.includes('s3cret'),
    );
    await assert.rejects(openPostgres('mysql://x@127.0.0.1/db'), /DATABASE_URL must be a postgres:\/\//);
    assert.throws(
      () => createPool('postgres://x@127.0.0.1/db', { max: 0 }),
      /option max must be an integer in \[1, 100\]/,
    );
  });

  test('the statement timeout cancels a runaway query', async () => {
    const db = await freshDatabase();
    const pool = createPool(db.url, { max: 1, statementTimeoutMs: 200 });
    try {
      await assert.rejects(pool.query('SELECT pg_sleep(5)'), /statement timeout/);
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1, 'the pool still works');
    } finally {
      await pool.end();
    }
  });
});
