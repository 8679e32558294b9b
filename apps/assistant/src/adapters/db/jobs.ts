// Durable job queue in SQLite (embedded mode): queries queued while the LLM circuit is open, completed by
// a worker once it closes. Workers hold a time-limited lease; a job whose lease expired (its worker died)
// is claimed again. Every state change after the claim is guarded by the lease owner, so a worker that
// lost its lease cannot overwrite the outcome of the worker that took over.
import type { Database, Statement } from 'better-sqlite3';
import {
  checkLease,
  checkMaxAttempts,
  checkOwner,
  checkTime,
  errorText,
  type JobRow,
  rowToJob as toJob,
} from '../../domain/job-rules.js';
import type { Job, JobOptions, JobStatus } from '../../domain/storage.js';
import { newId } from './ids.js';

export type { Job, JobOptions, JobStatus };
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'done', 'failed'];

export interface JobRepositoryOptions {
  /** Clock for created_at/updated_at and default run times (epoch ms). Default Date.now. */
  now?: () => number;
  /** Default claims allowed per job before it fails (integer 1-100, default 5). */
  maxAttempts?: number;
}

type LeaseParams = { id: string; owner: string; now: number };

export class JobRepository {
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #insert: Statement<[JobRow]>;
  readonly #get: Statement<[string, string], JobRow>;
  readonly #failExhausted: Statement<[{ now: number }]>;
  readonly #claim: Statement<[{ owner: string; now: number; expires: number }], JobRow>;
  readonly #claimTx: (owner: string, now: number, expires: number) => JobRow | undefined;
  readonly #complete: Statement<[LeaseParams & { result: string }]>;
  readonly #defer: Statement<[LeaseParams & { nextRunAt: number }]>;
  readonly #pendingForUser: Statement<[string], { n: number }>;
  readonly #retry: Statement<[LeaseParams & { nextRunAt: number; error: string }], { status: JobStatus }>;
  readonly #fail: Statement<[LeaseParams & { error: string }]>;
  readonly #renew: Statement<[LeaseParams & { expires: number }]>;
  readonly #counts: Statement<[], { status: JobStatus; n: number }>;
  readonly #nextDue: Statement<[], { due: number | null }>;
  readonly #prune: Statement<[number]>;

  constructor(db: Database, options: JobRepositoryOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = checkMaxAttempts(options.maxAttempts ?? 5, 'maxAttempts');
    this.#insert = db.prepare(
      `INSERT INTO jobs (id, user_id, query, options, status, attempts, max_attempts, next_run_at,
                         lease_owner, lease_expires_at, result, error, created_at, updated_at)
       VALUES (@id, @user_id, @query, @options, @status, @attempts, @max_attempts, @next_run_at,
               @lease_owner, @lease_expires_at, @result, @error, @created_at, @updated_at)`,
    );
    this.#get = db.prepare('SELECT * FROM jobs WHERE user_id = ? AND id = ?');
    // A job whose worker died on its last allowed attempt is failed rather than claimed again: a query
    // that crashes its worker every time must not crash workers forever.
    this.#failExhausted = db.prepare(
      `UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now,
              error = 'worker lease expired on the last allowed attempt (' || attempts || ' of ' || max_attempts || ')'
       WHERE status = 'running' AND lease_expires_at <= @now AND attempts >= max_attempts`,
    );
    // One statement picks and takes the job, so two workers (even in two processes) cannot both get it.
    this.#claim = db.prepare(
      `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = @owner,
              lease_expires_at = @expires, updated_at = @now
       WHERE id = (
         SELECT id FROM jobs
         WHERE (status = 'queued' AND next_run_at <= @now)
            OR (status = 'running' AND lease_expires_at <= @now)
         ORDER BY next_run_at, created_at, rowid
         LIMIT 1)
       RETURNING *`,
    );
    const claimTx = db.transaction((owner: string, now: number, expires: number): JobRow | undefined => {
      this.#failExhausted.run({ now });
      return this.#claim.get({ owner, now, expires });
    });
    // IMMEDIATE takes the write lock up front, so concurrent claimers queue on busy_timeout instead of
    // failing to upgrade a read lock.
    this.#claimTx = (owner, now, expires) => claimTx.immediate(owner, now, expires);
    this.#complete = db.prepare(
      `UPDATE jobs SET status = 'done', result = @result, error = NULL, lease_owner = NULL,
              lease_expires_at = NULL, updated_at = @now
       WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
    );
    this.#defer = db.prepare(
      `UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), next_run_at = @nextRunAt,
              lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
       WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
    );
    this.#pendingForUser = db.prepare(
      `SELECT count(*) AS n FROM jobs WHERE user_id = ? AND status IN ('queued', 'running')`,
    );
    this.#retry = db.prepare(
      `UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
              next_run_at = @nextRunAt, error = @error, lease_owner = NULL, lease_expires_at = NULL,
              updated_at = @now
       WHERE id = @id AND status = 'running' AND lease_owner = @owner
       RETURNING status`,
    );
    this.#fail = db.prepare(
      `UPDATE jobs SET status = 'failed', error = @error, lease_owner = NULL, lease_expires_at = NULL,
              updated_at = @now
       WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
    );
    this.#renew = db.prepare(
      `UPDATE jobs SET lease_expires_at = @expires, updated_at = @now
       WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
    );
    this.#counts = db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status');
    this.#nextDue = db.prepare(
      `SELECT min(due) AS due FROM (
         SELECT min(next_run_at) AS due FROM jobs WHERE status = 'queued'
         UNION ALL
         SELECT min(lease_expires_at) FROM jobs WHERE status = 'running')`,
    );
    this.#prune = db.prepare(`DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < ?`);
  }

  /** Queues `query` for `userId`; it is claimable from `runAt` (default now). */
  enqueueJob(
    userId: string,
    query: string,
    options: JobOptions = {},
    settings: { maxAttempts?: number; runAt?: number } = {},
  ): Job {
    if (typeof query !== 'string') throw new TypeError('query must be a string');
    const maxAttempts = checkMaxAttempts(settings.maxAttempts ?? this.#maxAttempts, 'maxAttempts');
    const now = this.#now();
    const runAt = settings.runAt ?? now;
    checkTime(runAt, 'runAt');
    const row: JobRow = {
      id: newId('job'),
      user_id: userId,
      query,
      options: JSON.stringify(options ?? {}),
      status: 'queued',
      attempts: 0,
      max_attempts: maxAttempts,
      next_run_at: runAt,
      lease_owner: null,
      lease_expires_at: null,
      result: null,
      error: null,
      created_at: now,
      updated_at: now,
    };
    this.#insert.run(row);
    return toJob(row);
  }

  /** The job if it belongs to `userId`; another user's job is indistinguishable from a missing one. */
  getJob(userId: string, id: string): Job | null {
    const row = this.#get.get(userId, id);
    return row ? toJob(row) : null;
  }

  /**
   * Atomically claims the next due job for `owner` with a lease until `now + leaseMs`: a queued job whose
   * time has come, or a running job whose lease expired. Null when nothing is due.
   */
  claimNextJob(owner: string, now: number, leaseMs: number): Job | null {
    checkOwner(owner);
    checkTime(now, 'now');
    checkLease(leaseMs);
    const row = this.#claimTx(owner, now, now + leaseMs);
    return row ? toJob(row) : null;
  }

  /** Stores the result; false (and nothing written) when `owner` no longer holds the job. */
  completeJob(id: string, owner: string, result: unknown): boolean {
    const json = JSON.stringify(result ?? null);
    return this.#complete.run({ id, owner, now: this.#now(), result: json }).changes === 1;
  }

  /**
   * Gives the job back for another attempt at `nextRunAt`, or fails it when its attempts are used up.
   * Returns the new status, or null when `owner` no longer holds the job.
   */
  /**
   * Gives the job back untouched, its claim not counted as an attempt: for when the protection refused the
   * call (open circuit, full bulkhead) and the model was never asked. False when `owner` lost the job.
   */
  deferJob(id: string, owner: string, nextRunAt: number): boolean {
    checkTime(nextRunAt, 'nextRunAt');
    return this.#defer.run({ id, owner, now: this.#now(), nextRunAt }).changes === 1;
  }

  /** Jobs of this user not finished yet (queued or running): bounds how much one user can queue. */
  countPendingJobs(userId: string): number {
    return this.#pendingForUser.get(userId)?.n ?? 0;
  }

  retryJob(id: string, owner: string, nextRunAt: number, error: unknown): JobStatus | null {
    checkTime(nextRunAt, 'nextRunAt');
    const row = this.#retry.get({ id, owner, now: this.#now(), nextRunAt, error: errorText(error) });
    return row ? row.status : null;
  }

  /** Fails the job for good (an error retrying cannot fix); false when `owner` no longer holds it. */
  failJob(id: string, owner: string, error: unknown): boolean {
    return this.#fail.run({ id, owner, now: this.#now(), error: errorText(error) }).changes === 1;
  }

  /** Extends the lease to `now + leaseMs`; false when `owner` lost the job (stop working on it). */
  renewLease(id: string, owner: string, now: number, leaseMs: number): boolean {
    checkTime(now, 'now');
    checkLease(leaseMs);
    return this.#renew.run({ id, owner, now, expires: now + leaseMs }).changes === 1;
  }

  /** Number of jobs in each status (every status present, zero when none). */
  countJobs(): Record<JobStatus, number> {
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const r of this.#counts.all()) counts[r.status] = r.n;
    return counts;
  }

  /**
   * When the next job becomes claimable (a queued job's run time or a running job's lease expiry, epoch
   * ms; may be in the past), or null when no job is pending. Lets a worker sleep instead of polling.
   */
  nextDueAt(): number | null {
    return this.#nextDue.get()?.due ?? null;
  }

  /** Deletes finished (done/failed) jobs last updated before `before`; returns how many. */
  pruneJobs(before: number): number {
    checkTime(before, 'before');
    return this.#prune.run(before).changes;
  }
}
