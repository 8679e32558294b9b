// Loads the bundled sample sermons for a user on first start.
import type { Database } from 'better-sqlite3';
import { DocumentRepository } from '../adapters/db/documents.js';
import { SAMPLE_SERMONS, type SampleSermon } from './sermons.js';

/**
 * Gives `userId` the sample corpus when they have no documents yet; returns how many were added (0 when
 * they already had some). Runs as one IMMEDIATE transaction, so two instances starting together on the
 * same database file cannot both seed. The user must exist (see ensureUsers).
 */
export function seedCorpus(
  db: Database,
  userId: string,
  sermons: readonly SampleSermon[] = SAMPLE_SERMONS,
): number {
  const docs = new DocumentRepository(db);
  const seed = db.transaction((): number => {
    if (docs.countDocuments(userId) > 0) return 0;
    for (const s of sermons) docs.createDocument(userId, { title: s.title, content: s.content });
    return sermons.length;
  });
  return seed.immediate();
}
