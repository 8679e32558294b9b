// The embedded storage adapter: the synchronous better-sqlite3 repositories behind the async storage ports.
import type { AuthUser, TokenEntry } from '../../domain/auth.js';
import type { Storage } from '../../domain/storage.js';
import { checkDatabase, type Database, openDatabase } from './database.js';
import { DocumentRepository } from './documents.js';
import { JobRepository } from './jobs.js';
import { authenticate, ensureUsers } from './users.js';

/** Every method of T, returning a promise of what it returned. */
type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** Wraps each method of `target` so it returns a promise (a thrown error becomes a rejection). */
function promised<T extends object, K extends keyof T>(target: T, keys: readonly K[]): Async<Pick<T, K>> {
  const out = {} as Record<K, unknown>;
  for (const key of keys) {
    const method = target[key] as unknown as (...args: unknown[]) => unknown;
    out[key] = async (...args: unknown[]) => method.apply(target, args);
  }
  return out as Async<Pick<T, K>>;
}

export interface SqliteStorage extends Storage {
  readonly kind: 'sqlite';
  readonly db: Database;
}

/** Opens (creating if needed) the SQLite file at `path` as a Storage. */
export function openSqliteStorage(path: string, options: { now?: () => number } = {}): SqliteStorage {
  const db = openDatabase(path);
  const clock = options.now ? { now: options.now } : {};
  const documents = new DocumentRepository(db, clock);
  const jobs = new JobRepository(db, clock);
  return {
    kind: 'sqlite',
    db,
    users: {
      ensureUsers: async (entries: readonly TokenEntry[]): Promise<AuthUser[]> =>
        ensureUsers(db, entries, options.now?.() ?? Date.now()),
      authenticate: async (token: unknown) => authenticate(db, token),
    },
    documents: promised(documents, [
      'createDocument',
      'listDocuments',
      'getDocument',
      'deleteDocument',
      'countDocuments',
      'searchPassages',
      'seedIfEmpty',
      'documentsVersion',
    ]),
    jobs: promised(jobs, [
      'enqueueJob',
      'getJob',
      'claimNextJob',
      'completeJob',
      'deferJob',
      'retryJob',
      'failJob',
      'renewLease',
      'countPendingJobs',
      'countJobs',
      'nextDueAt',
      'pruneJobs',
    ]),
    async ready() {
      return checkDatabase(db);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
