// The storage ports the service codes against: users and tokens, documents with full-text search, and the
// durable job table. Two adapters implement them: SQLite (embedded default, `adapters/db/`) and PostgreSQL
// (`DATABASE_URL`, `adapters/postgres/`). Every method is async so a networked database fits the same
// shape; the shared contract suite (`test/storage/contract.test.ts`) runs against both.
import type { AuthUser, TokenEntry } from './auth.js';

/** A relevant excerpt of one of the user's documents; the model's prompt context is built from these. */
export interface Passage {
  documentId: string;
  title: string;
  text: string;
  /** Relevance from retrieval: higher is more relevant; depends only on the asking user's documents. */
  score: number;
}

export interface DocumentInput {
  title: string;
  content: string;
}

export interface DocumentSummary {
  id: string;
  title: string;
  /** epoch ms */
  createdAt: number;
  /** content length in Unicode code points */
  size: number;
}

export interface StoredDocument extends DocumentSummary {
  content: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export type JobOptions = Record<string, unknown>;

/** A durable job row, as both job stores keep it. */
export interface Job {
  id: string;
  userId: string;
  query: string;
  options: JobOptions;
  status: JobStatus;
  /** Claims so far, including a claim whose worker died. */
  attempts: number;
  maxAttempts: number;
  /** epoch ms: a queued job is not claimed before this */
  nextRunAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** the parsed JSON result once done */
  result: unknown;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Users and their bearer tokens (stored as SHA-256 hashes only). */
export interface UserStore {
  /**
   * Makes the users match `entries`: creates missing users, sets each listed user's token and revokes the
   * token of every user not listed (their documents and jobs stay). Safe to run from several instances
   * starting at once.
   */
  ensureUsers(entries: readonly TokenEntry[]): Promise<AuthUser[]>;
  /** The user owning `bearerToken`, or null (constant-time comparison of the hash). */
  authenticate(bearerToken: unknown): Promise<AuthUser | null>;
}

/** A user's documents; every read and write is scoped by user id. */
export interface DocumentStore {
  /** Throws TypeError/RangeError (and stores nothing) for a missing, blank or oversized title/content. */
  createDocument(userId: string, input: DocumentInput): Promise<StoredDocument>;
  /** Newest first, without content. `limit` 1-1000 (default 100), `offset` ≥ 0. */
  listDocuments(userId: string, options?: { limit?: number; offset?: number }): Promise<DocumentSummary[]>;
  /** Null when it does not exist or belongs to someone else. */
  getDocument(userId: string, id: string): Promise<StoredDocument | null>;
  deleteDocument(userId: string, id: string): Promise<boolean>;
  countDocuments(userId: string): Promise<number>;
  /**
   * The user's most relevant passages for free text `query`, best first (`limit` 1-50, default 3). Any
   * text is safe; a query with no searchable words, or that none of the user's documents answers, gives [].
   */
  searchPassages(userId: string, query: string, limit?: number): Promise<Passage[]>;
  /**
   * Gives `userId` these documents when they have none yet (the demo corpus); returns how many were added.
   * Atomic across instances: two starting together on one database do not both add them.
   */
  seedIfEmpty(userId: string, inputs: readonly DocumentInput[]): Promise<number>;
  /**
   * Fingerprint of the user's document set: changes whenever one of their documents is added or removed
   * (cached answers are keyed by it, DESIGN 3.2).
   */
  documentsVersion(userId: string): Promise<string>;
}

/**
 * The durable job table behind the queue rung. A worker claims a due job with a lease; every change after
 * the claim is guarded by the lease owner, so a worker that lost its lease cannot overwrite the outcome of
 * the one that took over. Times are epoch ms from the caller's clock.
 */
export interface JobStore {
  enqueueJob(
    userId: string,
    query: string,
    options?: JobOptions,
    settings?: { maxAttempts?: number; runAt?: number },
  ): Promise<Job>;
  /** The job if it belongs to `userId`; another user's job is indistinguishable from a missing one. */
  getJob(userId: string, id: string): Promise<Job | null>;
  /** Atomically claims the next due job (queued and due, or running with an expired lease); null if none. */
  claimNextJob(owner: string, now: number, leaseMs: number): Promise<Job | null>;
  completeJob(id: string, owner: string, result: unknown): Promise<boolean>;
  /** Gives the job back untouched (its claim not counted as an attempt), claimable from `nextRunAt`. */
  deferJob(id: string, owner: string, nextRunAt: number): Promise<boolean>;
  /** Another attempt at `nextRunAt`, or failed when attempts are used up; null when `owner` lost it. */
  retryJob(id: string, owner: string, nextRunAt: number, error: unknown): Promise<JobStatus | null>;
  failJob(id: string, owner: string, error: unknown): Promise<boolean>;
  renewLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Queued or running jobs of this user (the per-user cap). */
  countPendingJobs(userId: string): Promise<number>;
  countJobs(): Promise<Record<JobStatus, number>>;
  /** When the next job becomes claimable (may be in the past), or null when nothing is pending. */
  nextDueAt(): Promise<number | null>;
  /** Deletes finished jobs last updated before `before`; returns how many. */
  pruneJobs(before: number): Promise<number>;
}

/**
 * The database cannot serve right now (unreachable, restarting, too slow): the request may be retried.
 * Carries HTTP 503, so a route that lets it through answers "Service Unavailable", never a 500.
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  readonly statusCode = 503;
  constructor(message = 'the database is unavailable; retry shortly', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One storage backend: what the composition root picks from the configuration. */
export interface Storage {
  /** 'sqlite' or 'postgres' (health output, logs). */
  readonly kind: string;
  readonly users: UserStore;
  readonly documents: DocumentStore;
  readonly jobs: JobStore;
  /** Readiness: true when the database answers and has the expected schema. Never throws. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
