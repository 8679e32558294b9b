// Users and their bearer tokens in PostgreSQL (stored only as SHA-256 hashes; see domain/auth.ts).
import type pg from 'pg';
import {
  type AuthUser,
  hashToken,
  isPlausibleToken,
  type TokenEntry,
  tokenMatchesHash,
} from '../../domain/auth.js';
import type { UserStore } from '../../domain/storage.js';
import { inTransaction, query } from './pool.js';

/** Serialises `ensureUsers` across instances starting together (a transaction-scoped advisory lock). */
const USERS_LOCK = [0x74726970, 0x75736572]; // 'trip', 'user'

export class PgUserStore implements UserStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async ensureUsers(entries: readonly TokenEntry[], now: number = Date.now()): Promise<AuthUser[]> {
    return inTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', USERS_LOCK);
      // Clearing first means a token moving from one user to another never trips the UNIQUE constraint.
      await client.query('UPDATE users SET token_hash = NULL WHERE token_hash IS NOT NULL');
      const users: AuthUser[] = [];
      for (const e of entries) {
        await client.query(
          `INSERT INTO users (id, name, token_hash, created_at) VALUES ($1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash`,
          [e.user, hashToken(e.token), now],
        );
        users.push({ id: e.user, name: e.user });
      }
      return users;
    });
  }

  async authenticate(bearerToken: unknown): Promise<AuthUser | null> {
    if (!isPlausibleToken(bearerToken)) return null;
    const { rows } = await query<{ id: string; name: string; token_hash: string }>(this.#pool, {
      name: 'users_by_token',
      text: 'SELECT id, name, token_hash FROM users WHERE token_hash = $1',
      values: [hashToken(bearerToken)],
    });
    const row = rows[0];
    if (!row || !tokenMatchesHash(bearerToken, row.token_hash)) return null;
    return { id: row.id, name: row.name };
  }
}
