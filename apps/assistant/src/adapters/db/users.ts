// Users and their bearer tokens (stored only as SHA-256 hashes; see domain/auth.ts for why).
import type { Database, Statement } from 'better-sqlite3';
import {
  type AuthUser,
  hashToken,
  isPlausibleToken,
  type TokenEntry,
  tokenMatchesHash,
} from '../../domain/auth.js';

interface UserRow {
  id: string;
  name: string;
  token_hash: string;
}

// Prepared once per connection: authenticate runs on every request.
const lookupStatements = new WeakMap<Database, Statement<[string], UserRow>>();

function lookupStatement(db: Database): Statement<[string], UserRow> {
  let stmt = lookupStatements.get(db);
  if (!stmt) {
    stmt = db.prepare<[string], UserRow>('SELECT id, name, token_hash FROM users WHERE token_hash = ?');
    lookupStatements.set(db, stmt);
  }
  return stmt;
}

/**
 * Makes the users table match `entries`: creates missing users, sets each listed user's token, and
 * revokes the token of every user not listed (their documents and jobs stay). Without the revocation,
 * removing someone from ASSISTANT_TOKENS (or leaving demo mode) would not lock them out.
 */
export function ensureUsers(
  db: Database,
  entries: readonly TokenEntry[],
  now: number = Date.now(),
): AuthUser[] {
  const revokeAll = db.prepare('UPDATE users SET token_hash = NULL WHERE token_hash IS NOT NULL');
  const upsert = db.prepare<[string, string, string, number]>(
    `INSERT INTO users (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash`,
  );
  const apply = db.transaction((): AuthUser[] => {
    // Clearing first means a token moving from one user to another never trips the UNIQUE constraint.
    revokeAll.run();
    return entries.map((e) => {
      upsert.run(e.user, e.user, hashToken(e.token), now);
      return { id: e.user, name: e.user };
    });
  });
  const users = apply.immediate();
  // Tokens changed: nothing cached from before may answer again.
  tokenCache(db).clear();
  return users;
}

/** How long `authenticate` trusts an answer it already got from the users table. */
export const TOKEN_CACHE_TTL_MS = 5_000;
/** Tokens (as hashes) remembered per database, valid or not; the oldest go first. */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/**
 * Token hash → user (or null for an unknown token), per database, for `TOKEN_CACHE_TTL_MS`: a client's
 * every request authenticates, and this spares each one a SQLite lookup and a second hash. `ensureUsers`
 * clears it, so a token changed by this process counts at once; a change another process makes to a
 * shared database file counts within the TTL. Keys are SHA-256 hashes: raw tokens are never kept.
 */
class TokenCache {
  readonly #entries = new Map<string, { user: AuthUser | null; expiresAt: number }>();

  get(hash: string, now: number): AuthUser | null | undefined {
    const hit = this.#entries.get(hash);
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= now) {
      this.#entries.delete(hash);
      return undefined;
    }
    return hit.user;
  }

  set(hash: string, user: AuthUser | null, now: number): void {
    this.#entries.delete(hash);
    if (this.#entries.size >= TOKEN_CACHE_MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(hash, { user, expiresAt: now + TOKEN_CACHE_TTL_MS });
  }

  clear(): void {
    this.#entries.clear();
  }
}

const tokenCaches = new WeakMap<Database, TokenCache>();

function tokenCache(db: Database): TokenCache {
  let cache = tokenCaches.get(db);
  if (!cache) {
    cache = new TokenCache();
    tokenCaches.set(db, cache);
  }
  return cache;
}

/**
 * Returns the user owning `bearerToken`, or null. The index lookup is by hash, so its timing reveals
 * nothing an attacker can steer towards a valid token; the final comparison is constant-time anyway.
 * Answers are cached briefly per database (see `TokenCache`); `now` (ms) is the cache's clock.
 */
export function authenticate(db: Database, bearerToken: unknown, now: number = Date.now()): AuthUser | null {
  if (!isPlausibleToken(bearerToken)) return null;
  const hash = hashToken(bearerToken);
  const cache = tokenCache(db);
  const cached = cache.get(hash, now);
  if (cached !== undefined) return cached;
  const row = lookupStatement(db).get(hash);
  const user =
    row && tokenMatchesHash(bearerToken, row.token_hash)
      ? Object.freeze({ id: row.id, name: row.name })
      : null;
  cache.set(hash, user, now);
  return user;
}
