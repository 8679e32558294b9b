// The durable job table in PostgreSQL (DATABASE_URL without REDIS_URL). Any number of instances claim from
// it: the claim picks the next due row with FOR UPDATE SKIP LOCKED and takes it with a lease in the same
// statement, so two workers never get the same job, and a worker that dies (even SIGKILL) leaves a lease
// that expires, after which the job is claimed again. Every change after the claim is guarded by the lease
// owner, so a worker that lost its lease cannot overwrite the outcome of the one that took over.
import type pg from 'pg';
import {
  checkLease,
  checkMaxAttempts,
  checkOwner,
  checkTime,
  errorText,
  type JobRow,
  rowToJob,
} from '../../domain/job-rules.js';
import type { Job, JobOptions, JobStatus, JobStore } from '../../domain/storage.js';
import { newId } from '../db/ids.js';
import { query } from './pool.js';

function toJob(r: JobRow): Job {
  return rowToJob(r, JSON.parse(r.query) as string);
}

const CLAIM_SQL = `
  UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1,
         lease_expires_at = $3, updated_at = $2
  WHERE id = (
    SELECT id FROM jobs
    WHERE (status = 'queued' AND next_run_at <= $2)
       OR (status = 'running' AND lease_expires_at <= $2 AND attempts < max_attempts)
    ORDER BY next_run_at, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
  RETURNING *`;

// A job whose worker died on its last allowed attempt is failed rather than claimed again: a query that
// crashes its worker every time must not crash workers forever.
const FAIL_EXHAUSTED_SQL = `
  UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1,
         error = 'worker lease expired on the last allowed attempt (' || attempts || ' of ' || max_attempts || ')'
  WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts`;

export class PgJobStore implements JobStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #maxAttempts: number;

  constructor(pool: pg.Pool, options: { now?: () => number; maxAttempts?: number } = {}) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = checkMaxAttempts(options.maxAttempts ?? 5);
  }

  async #rows(name: string, text: string, values: unknown[]): Promise<JobRow[]> {
    return (await query<JobRow>(this.#pool, { name, text, values })).rows;
  }

  async #changed(name: string, text: string, values: unknown[]): Promise<boolean> {
    return (await query(this.#pool, { name, text, values })).rowCount === 1;
  }

  async enqueueJob(
    userId: string,
    query: string,
    options: JobOptions = {},
    settings: { maxAttempts?: number; runAt?: number } = {},
  ): Promise<Job> {
    if (typeof query !== 'string') throw new TypeError('query must be a string');
    const maxAttempts = checkMaxAttempts(settings.maxAttempts ?? this.#maxAttempts);
    const now = this.#now();
    const runAt = settings.runAt ?? now;
    checkTime(runAt, 'runAt');
    const rows = await this.#rows(
      'jobs_insert',
      `INSERT INTO jobs (id, user_id, query, options, status, attempts, max_attempts, next_run_at,
                         created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7) RETURNING *`,
      [newId('job'), userId, JSON.stringify(query), JSON.stringify(options ?? {}), maxAttempts, runAt, now],
    );
    return toJob(rows[0] as JobRow);
  }

  async getJob(userId: string, id: string): Promise<Job | null> {
    const rows = await this.#rows('jobs_get', 'SELECT * FROM jobs WHERE user_id = $1 AND id = $2', [
      userId,
      id,
    ]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async claimNextJob(owner: string, now: number, leaseMs: number): Promise<Job | null> {
    checkOwner(owner);
    checkTime(now, 'now');
    checkLease(leaseMs);
    await query(this.#pool, { name: 'jobs_fail_exhausted', text: FAIL_EXHAUSTED_SQL, values: [now] });
    const rows = await this.#rows('jobs_claim', CLAIM_SQL, [owner, now, now + leaseMs]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async completeJob(id: string, owner: string, result: unknown): Promise<boolean> {
    return this.#changed(
      'jobs_complete',
      `UPDATE jobs SET status = 'done', result = $3, error = NULL, lease_owner = NULL,
              lease_expires_at = NULL, updated_at = $4
       WHERE id = $1 AND status = 'running' AND lease_owner = $2`,
      [id, owner, JSON.stringify(result ?? null), this.#now()],
    );
  }

  async deferJob(id: string, owner: string, nextRunAt: number): Promise<boolean> {
    checkTime(nextRunAt, 'nextRunAt');
    return this.#changed(
      'jobs_defer',
      `UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), next_run_at = $3,
              lease_owner = NULL, lease_expires_at = NULL, updated_at = $4
       WHERE id = $1 AND status = 'running' AND lease_owner = $2`,
      [id, owner, nextRunAt, this.#now()],
    );
  }

  async retryJob(id: string, owner: string, nextRunAt: number, error: unknown): Promise<JobStatus | null> {
    checkTime(nextRunAt, 'nextRunAt');
    const rows = await this.#rows(
      'jobs_retry',
      `UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
              next_run_at = $3, error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $5
       WHERE id = $1 AND status = 'running' AND lease_owner = $2
       RETURNING *`,
      [id, owner, nextRunAt, errorText(error), this.#now()],
    );
    return rows[0]?.status ?? null;
  }

  async failJob(id: string, owner: string, error: unknown): Promise<boolean> {
    return this.#changed(
      'jobs_fail',
      `UPDATE jobs SET status = 'failed', error = $3, lease_owner = NULL, lease_expires_at = NULL,
              updated_at = $4
       WHERE id = $1 AND status = 'running' AND lease_owner = $2`,
      [id, owner, errorText(error), this.#now()],
    );
  }

  async renewLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    checkTime(now, 'now');
    checkLease(leaseMs);
    return this.#changed(
      'jobs_renew',
      `UPDATE jobs SET lease_expires_at = $3, updated_at = $4
       WHERE id = $1 AND status = 'running' AND lease_owner = $2`,
      [id, owner, now + leaseMs, now],
    );
  }

  async countPendingJobs(userId: string): Promise<number> {
    const { rows } = await query<{ n: number }>(this.#pool, {
      name: 'jobs_pending_user',
      text: `SELECT count(*) AS n FROM jobs WHERE user_id = $1 AND status IN ('queued', 'running')`,
      values: [userId],
    });
    return rows[0]?.n ?? 0;
  }

  async countJobs(): Promise<Record<JobStatus, number>> {
    const { rows } = await query<{ status: JobStatus; n: number }>(this.#pool, {
      name: 'jobs_counts',
      text: 'SELECT status, count(*) AS n FROM jobs GROUP BY status',
    });
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await query<{ due: number | null }>(this.#pool, {
      name: 'jobs_next_due',
      text: `SELECT least(
               (SELECT min(next_run_at) FROM jobs WHERE status = 'queued'),
               (SELECT min(lease_expires_at) FROM jobs WHERE status = 'running')) AS due`,
    });
    return rows[0]?.due ?? null;
  }

  async pruneJobs(before: number): Promise<number> {
    checkTime(before, 'before');
    const res = await query(this.#pool, {
      name: 'jobs_prune',
      text: `DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < $1`,
      values: [before],
    });
    return res.rowCount ?? 0;
  }
}
