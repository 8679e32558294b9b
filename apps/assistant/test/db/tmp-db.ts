// Test helper: real database files in a fresh temp directory, removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Database, openDatabase } from '../../src/adapters/db/database.js';

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a database file in a fresh temp dir; closed and deleted after the test. */
export function tempDatabase(t: TestContext): { db: Database; path: string } {
  const path = join(tempDir(t), 'nested', 'assistant.db');
  const db = openDatabase(path);
  t.after(() => {
    if (db.open) db.close();
  });
  return { db, path };
}
