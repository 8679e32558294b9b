// The documents version in PostgreSQL is a fingerprint of what the user's documents say, kept in step by
// the same statements that write them, so it changes whenever the set changes — also when writers on
// different instances commit in another order than their rows were numbered, which leaves the count and
// the newest sequence number as they were.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgres, type PostgresStorage } from '../../src/adapters/postgres/index.js';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from '../helpers/postgres.js';

const databases: TestDatabase[] = [];
const storages: PostgresStorage[] = [];
after(async () => {
  for (const s of storages) await s.close();
  await Promise.allSettled(databases.map((d) => d.drop()));
});

/** Advisory lock key the test's "slow writer" waits on. */
const HOLD = 424242;

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('PostgreSQL documents version', { skip: await skipWithoutPostgres() }, () => {
  test('writers committing out of order (same count, same newest row) still change the version', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const s = await openPostgres(db.url, { max: 4 });
    storages.push(s);
    await s.users.ensureUsers([{ token: 'alice-token-0123456789', user: 'alice' }]);
    // A slow writer: its document row gets its sequence number, then waits (as another instance's
    // long transaction would) until the test lets it commit.
    await s.pool.query(`
      CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.title = 'Slow' THEN PERFORM pg_advisory_xact_lock(${HOLD}); END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_hold BEFORE INSERT ON documents FOR EACH ROW EXECUTE FUNCTION test_hold();`);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      const a = await s.documents.createDocument('alice', { title: 'A', content: 'the first words' });
      await holder.query('SELECT pg_advisory_lock($1)', [HOLD]);
      const slow = s.documents.createDocument('alice', { title: 'Slow', content: 'words held back' });
      await until(async () => {
        const { rows } = await holder.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        );
        return rows[0].n === 1;
      }, 'the slow writer to wait');
      await s.documents.createDocument('alice', { title: 'Y', content: 'other words entirely' });
      const shape = async () =>
        (
          await holder.query(
            `SELECT count(*)::int AS n, max(seq)::int AS newest FROM documents WHERE user_id = 'alice'`,
          )
        ).rows[0];
      const before = await s.documents.documentsVersion('alice');
      const shapeBefore = await shape();
      assert.equal(await s.documents.deleteDocument('alice', a.id), true);
      await holder.query('SELECT pg_advisory_unlock($1)', [HOLD]);
      await slow;
      assert.deepEqual(await shape(), shapeBefore, 'count and newest sequence number are as before');
      assert.notEqual(await s.documents.documentsVersion('alice'), before);
      assert.deepEqual((await s.documents.listDocuments('alice')).map((d) => d.title).toSorted(), [
        'Slow',
        'Y',
      ]);
    } finally {
      await holder.end();
    }
  });

  test('a document’s text is not edited in place behind the index’s back', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const s = await openPostgres(db.url, { max: 2 });
    storages.push(s);
    await s.users.ensureUsers([{ token: 'alice-token-0123456789', user: 'alice' }]);
    const doc = await s.documents.createDocument('alice', { title: 'T', content: 'mercy and grace' });
    await assert.rejects(
      s.pool.query(`UPDATE documents SET content = 'volcano' WHERE id = $1`, [doc.id]),
      /not updated in place: delete the document and add it again/,
    );
    assert.equal((await s.documents.searchPassages('alice', 'mercy'))[0]?.documentId, doc.id);
    assert.deepEqual(await s.documents.searchPassages('alice', 'volcano'), []);
  });
});
