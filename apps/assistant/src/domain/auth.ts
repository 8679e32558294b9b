// Bearer tokens: parsing the ASSISTANT_TOKENS setting, hashing tokens for storage, comparing them.
//
// Why SHA-256 and not bcrypt/scrypt: those slow hashes exist to protect low-entropy secrets (human
// passwords) from offline guessing. Our tokens are random, high-entropy secrets chosen by the operator, so
// a single fast hash already makes a leaked database useless for recovering them, and it keeps the check
// cheap enough to run on every request (a slow hash per request would be a self-inflicted DoS vector).
import { createHash, timingSafeEqual } from 'node:crypto';
import { sliceCodePoints } from './text.js';

export const DEMO_TOKEN = 'demo-token';
export const DEMO_USER = 'demo';

/**
 * Longer tokens are rejected before hashing: no legitimate token is this long. Tokens are visible ASCII
 * (configured ones are checked; a header value is Latin-1), so UTF-16 units are code points here.
 */
export const MAX_TOKEN_LENGTH = 512;

/** User names double as user ids (see the users table), so they are kept to a safe alphabet. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Visible ASCII except ',' (the entry separator): what fits in an Authorization header unescaped. */
const TOKEN_CHARS = /^[\x21-\x2B\x2D-\x7E]+$/;

export interface TokenEntry {
  readonly token: string;
  readonly user: string;
}

export interface AuthUser {
  readonly id: string;
  readonly name: string;
}

/** Hex SHA-256 of the token: the form stored in users.token_hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Constant-time check that `token` hashes to `storedHashHex`. Both sides are 32-byte digests, so
 * timingSafeEqual always sees equal lengths; a malformed stored hash simply fails.
 */
export function tokenMatchesHash(token: string, storedHashHex: string): boolean {
  const stored = Buffer.from(storedHashHex, 'hex');
  const presented = createHash('sha256').update(token, 'utf8').digest();
  if (stored.length !== presented.length) return false;
  return timingSafeEqual(stored, presented);
}

/** Cheap shape check run before any hashing or database work. */
export function isPlausibleToken(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

/**
 * Extracts the token from an `Authorization: Bearer <token>` header value; null when absent, of another
 * scheme, empty or absurdly long (checked before any other work).
 */
export function parseBearer(header: string | undefined | null): string | null {
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 16) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const token = match?.[1];
  return token !== undefined && isPlausibleToken(token) ? token : null;
}

/**
 * Parses `token:user,token:user,...`. Whitespace around entries and parts is ignored, as are empty
 * entries (a trailing comma). The user is what follows the last ':' so tokens may contain ':'.
 * Errors name the entry by position and never echo a token (they end up in logs).
 */
export function parseTokens(spec: string, optionName = 'ASSISTANT_TOKENS'): TokenEntry[] {
  if (typeof spec !== 'string') throw new TypeError(`${optionName} must be a string of "token:user" pairs`);
  const entries: TokenEntry[] = [];
  const users = new Set<string>();
  const tokens = new Set<string>();
  const parts = spec.split(',');
  for (let i = 0; i < parts.length; i++) {
    const raw = (parts[i] ?? '').trim();
    if (raw === '') continue;
    const where = `${optionName} entry ${i + 1}`;
    const colon = raw.lastIndexOf(':');
    if (colon < 0) throw new RangeError(`${where} is malformed: expected "token:user" separated by commas`);
    const token = raw.slice(0, colon).trim();
    const user = raw.slice(colon + 1).trim();
    if (token === '') throw new RangeError(`${where} has an empty token`);
    if (user === '') throw new RangeError(`${where} has an empty user name`);
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new RangeError(`${where}: token must be at most ${MAX_TOKEN_LENGTH} characters`);
    }
    if (!TOKEN_CHARS.test(token)) {
      throw new RangeError(`${where}: token may only use visible ASCII characters other than ','`);
    }
    if (!USER_NAME.test(user)) {
      throw new RangeError(
        `${where}: user name "${sliceCodePoints(user, 64)}" must be 1-64 characters of A-Z a-z 0-9 . _ @ - ` +
          'starting with a letter or digit',
      );
    }
    // One token per user: the users table keeps a single token_hash per user.
    if (users.has(user)) throw new RangeError(`${where}: user "${user}" is listed more than once`);
    if (tokens.has(token)) throw new RangeError(`${where}: token is already assigned to another user`);
    users.add(user);
    tokens.add(token);
    entries.push({ token, user });
  }
  if (entries.length === 0) throw new RangeError(`${optionName} has no "token:user" entries`);
  return entries;
}

/**
 * Resolves the ASSISTANT_TOKENS environment value: unset or blank means demo mode, a single user
 * `demo` with the token `demo-token`.
 */
export function resolveTokens(envValue: string | undefined): { entries: TokenEntry[]; demo: boolean } {
  if (envValue === undefined || envValue.trim() === '') {
    return { entries: [{ token: DEMO_TOKEN, user: DEMO_USER }], demo: true };
  }
  return { entries: parseTokens(envValue), demo: false };
}
