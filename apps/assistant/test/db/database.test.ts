import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { checkDatabase, openDatabase } from '../../src/adapters/db/database.js';
import { LATEST_SCHEMA_VERSION, migrate } from '../../src/adapters/db/migrations.js';
import { tempDatabase, tempDir } from './tmp-db.js';

describe('openDatabase', () => {
  test('creates missing parent directories and the full schema', (t) => {
    const { db, path } = tempDatabase(t);
    assert.ok(existsSync(path));
    const names = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
      .all()
      .map((r) => r.name);
    for (const n of ['users', 'documents', 'passages', 'postings', 'search_stats', 'jobs']) {
      assert.ok(names.includes(n), `missing ${n}`);
    }
    assert.equal(db.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION);
  });

  test('turns on WAL, foreign keys and a busy timeout', (t) => {
    const { db } = tempDatabase(t);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    // Foreign keys really are enforced: a document for a user that does not exist is refused.
    assert.throws(
      () =>
        db
          .prepare(
            "INSERT INTO documents (id, user_id, title, content, created_at) VALUES ('d', 'nobody', 't', 'c', 0)",
          )
          .run(),
      /FOREIGN KEY/,
    );
  });

  test('migrations are idempotent: reopening and re-running apply nothing and keep data', (t) => {
    const { db, path } = tempDatabase(t);
    db.prepare("INSERT INTO users (id, name, token_hash, created_at) VALUES ('u', 'u', 'h', 1)").run();
    assert.equal(migrate(db), 0);
    db.close();
    const again = openDatabase(path);
    try {
      assert.equal(migrate(again), 0);
      assert.equal(again.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION);
      assert.deepEqual(again.prepare('SELECT id FROM users').all(), [{ id: 'u' }]);
    } finally {
      again.close();
    }
  });

  test('a fresh file reports the migrations it applied', (t) => {
    const raw = new BetterSqlite3(join(tempDir(t), 'fresh.db'));
    try {
      assert.equal(migrate(raw), LATEST_SCHEMA_VERSION);
      assert.equal(migrate(raw), 0);
    } finally {
      raw.close();
    }
  });

  test('refuses a database written by a newer schema', (t) => {
    const path = join(tempDir(t), 'newer.db');
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openDatabase(path), /newer than this build supports/);
  });

  test('rejects an invalid busyTimeoutMs naming the option', (t) => {
    const path = join(tempDir(t), 'x.db');
    assert.throws(
      () => openDatabase(path, { busyTimeoutMs: -1 }),
      (err: unknown) => {
        assert.ok(err instanceof RangeError);
        assert.match(err.message, /busyTimeoutMs/);
        return true;
      },
    );
  });

  test('works in memory too', () => {
    const db = openDatabase(':memory:');
    try {
      assert.equal(checkDatabase(db), true);
    } finally {
      db.close();
    }
  });
});

describe('checkDatabase', () => {
  test('true for a healthy connection, false once closed', (t) => {
    const { db } = tempDatabase(t);
    assert.equal(checkDatabase(db), true);
    db.close();
    assert.equal(checkDatabase(db), false);
  });

  test('false when the schema is not the one this build expects', (t) => {
    const raw = new BetterSqlite3(join(tempDir(t), 'empty.db'));
    try {
      assert.equal(checkDatabase(raw), false);
    } finally {
      raw.close();
    }
  });
});
