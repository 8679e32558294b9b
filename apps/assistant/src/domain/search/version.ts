// The fingerprint of a user's document set. Cached answers are keyed by it (DESIGN.md 3.2: a cached answer
// belongs to the documents it was built from), so any storage adapter keeps one per user and updates it
// whenever a document is added or removed.
import { createHash } from 'node:crypto';

/** The fingerprint of an empty document set. */
export const EMPTY_DOCUMENTS_VERSION = '0'.repeat(32);
const MOD = 1n << 128n;

/** Fingerprints are sums modulo this (2^128). */
export const VERSION_MODULUS = MOD;

/**
 * The 128-bit hash one document adds to its owner's fingerprint (and subtracts when it leaves). A store
 * that keeps the sum itself (PostgreSQL, in one atomic UPDATE) adds and subtracts this, modulo
 * VERSION_MODULUS, and shows the sum with formatDocumentsVersion.
 */
export function documentDigest(title: string, content: string): bigint {
  const hash = createHash('sha256').update(title).update('\u0000').update(content).digest('hex');
  return BigInt(`0x${hash.slice(0, 32)}`);
}

function parse(version: string): bigint {
  return /^[0-9a-f]{32}$/.test(version) ? BigInt(`0x${version}`) : 0n;
}

function format(value: bigint): string {
  return (((value % MOD) + MOD) % MOD).toString(16).padStart(32, '0');
}

/** The fingerprint whose sum is `sum` (any integer, taken modulo VERSION_MODULUS). */
export function formatDocumentsVersion(sum: bigint): string {
  return format(sum);
}

/**
 * The fingerprint after a document with this title and content joins the set: the sum (mod 2^128) of a
 * 128-bit hash of every document's text. It depends on what the documents say, not on ids or order, so
 * instances holding the same documents in their own databases agree on it (and share L2 answers); a
 * duplicate counts twice, so adding a copy changes it. O(1) to update.
 */
export function withDocument(version: string, title: string, content: string): string {
  return format(parse(version) + documentDigest(title, content));
}

/** The fingerprint after a document with this title and content leaves the set. */
export function withoutDocument(version: string, title: string, content: string): string {
  return format(parse(version) - documentDigest(title, content));
}
