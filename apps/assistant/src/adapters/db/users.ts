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
  return apply.immediate();
}

/**
 * Returns the user owning `bearerToken`, or null. The index lookup is by hash, so its timing reveals
 * nothing an attacker can steer towards a valid token; the final comparison is constant-time anyway.
 * Every call reads the table: answers are remembered once, for every store, by the domain's Authenticator.
 */
export function authenticate(db: Database, bearerToken: unknown): AuthUser | null {
  if (!isPlausibleToken(bearerToken)) return null;
  const row = lookupStatement(db).get(hashToken(bearerToken));
  return row && tokenMatchesHash(bearerToken, row.token_hash) ? { id: row.id, name: row.name } : null;
}
