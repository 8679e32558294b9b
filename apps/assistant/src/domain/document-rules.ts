// What every document store enforces the same way: input limits (excerpts are domain/search's passages).
// Bad input is a DomainValidationError/DomainTypeError (HTTP 400), never a 500.
import type { StoredDocument } from './storage.js';
import { codePointLength, DomainTypeError, DomainValidationError, requireWellFormed } from './text.js';

export { PASSAGE_MAX_CHARS } from './search/passages.js';
export const DOCUMENT_LIMITS = Object.freeze({ titleMaxChars: 300, contentMaxChars: 200_000 });
export const MAX_SEARCH_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;

/**
 * The trimmed text, or a TypeError/RangeError naming `field` (lengths in code points, as the request
 * schema counts them). NUL is refused: PostgreSQL text cannot hold it, and no document needs it, so both
 * stores reject it alike. So is an unpaired surrogate: neither store can keep it (their UTF-8 encoders
 * would silently turn it into U+FFFD), and nothing may send it on.
 */
export function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new DomainTypeError(`${field} must be a string`);
  const trimmed = value.trim();
  const length = codePointLength(trimmed);
  if (length === 0 || length > max) {
    throw new DomainValidationError(`${field} must be 1-${max} characters (after trimming), got ${length}`);
  }
  if (trimmed.includes('\u0000')) {
    throw new DomainValidationError(`${field} must not contain NUL (U+0000) characters`);
  }
  return requireWellFormed(trimmed, field);
}

export function requireLimit(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new DomainValidationError(`${field} must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
}

/** Checks a search's arguments (TypeError/RangeError) and returns the query text. */
export function checkSearch(query: unknown, limit: number): string {
  requireLimit(limit, 'limit', MAX_SEARCH_LIMIT);
  if (typeof query !== 'string') throw new DomainTypeError('query must be a string');
  return query;
}

export function requireOffset(value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new DomainValidationError(`offset must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** A stored document row (`created_at` in epoch ms) as the domain's StoredDocument; `size` in code points. */
export function toStoredDocument(r: {
  id: string;
  title: string;
  content: string;
  created_at: number;
}): StoredDocument {
  return {
    id: r.id,
    title: r.title,
    content: r.content,
    createdAt: r.created_at,
    size: codePointLength(r.content),
  };
}
