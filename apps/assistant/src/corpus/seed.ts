// Loads the bundled sample sermons for a user on first start.
import type { Database } from 'better-sqlite3';
import { DocumentRepository } from '../adapters/db/documents.js';
import type { DocumentInput, DocumentStore } from '../domain/storage.js';
import { SAMPLE_SERMONS, type SampleSermon } from './sermons.js';

function inputs(sermons: readonly SampleSermon[]): DocumentInput[] {
  return sermons.map((s) => ({ title: s.title, content: s.content }));
}

/**
 * Gives `userId` the sample corpus when they have no documents yet; returns how many were added (0 when
 * they already had some). Atomic in both stores, so two instances starting together on the same database
 * cannot both seed. The user must exist (see ensureUsers).
 */
export function seedSampleCorpus(
  documents: DocumentStore,
  userId: string,
  sermons: readonly SampleSermon[] = SAMPLE_SERMONS,
): Promise<number> {
  return documents.seedIfEmpty(userId, inputs(sermons));
}

/** `seedSampleCorpus` on an open SQLite database, synchronously (tests and tools). */
export function seedCorpus(
  db: Database,
  userId: string,
  sermons: readonly SampleSermon[] = SAMPLE_SERMONS,
): number {
  return new DocumentRepository(db).seedIfEmpty(userId, inputs(sermons));
}
