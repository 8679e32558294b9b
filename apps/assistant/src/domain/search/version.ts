// The fingerprint of a user's document set. Cached answers are keyed by it (DESIGN.md 3.2: a cached answer
// belongs to the documents it was built from), so any storage adapter keeps one per user and updates it
// whenever a document is added or removed.
import { createHash } from 'node:crypto';

/** The fingerprint of an empty document set. */
export const EMPTY_DOCUMENTS_VERSION = '0'.repeat(32);

/**
 * The fingerprint after document `documentId` joins or leaves the set: the XOR of a 128-bit hash of every
 * document id in it. Order-free and O(1) to update; the same set gives the same value on every instance.
 */
export function toggleDocument(version: string, documentId: string): string {
  const digest = createHash('sha256').update(documentId).digest();
  const prev = Buffer.from(/^[0-9a-f]{32}$/.test(version) ? version : EMPTY_DOCUMENTS_VERSION, 'hex');
  for (let i = 0; i < 16; i++) prev[i] = (prev[i] ?? 0) ^ (digest[i] ?? 0);
  return prev.toString('hex');
}
