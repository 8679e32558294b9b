// What both job tables (SQLite, PostgreSQL) share: the row shape, its mapping to a Job, and argument checks.
import type { Job, JobOptions, JobStatus } from './storage.js';
import { sliceCodePoints, toWellFormed } from './text.js';

/** A jobs-table row as both stores keep it (times epoch ms; options and result JSON text). */
export interface JobRow {
  id: string;
  user_id: string;
  query: string;
  options: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  next_run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const MAX_ERROR_CHARS = 2000;

/** The Job of a row; `query` is the stored query column as the store decodes it. */
export function rowToJob(r: JobRow, query: string = r.query): Job {
  return {
    id: r.id,
    userId: r.user_id,
    query,
    options: JSON.parse(r.options) as JobOptions,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    nextRunAt: r.next_run_at,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function checkMaxAttempts(value: number, name = 'maxAttempts'): number {
  if (!Number.isInteger(value) || value < 1 || value > 100) {
    throw new RangeError(`${name} must be an integer in [1, 100], got ${value}`);
  }
  return value;
}

export function checkTime(value: number, name: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite epoch-ms number, got ${value}`);
}

export function checkLease(value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`leaseMs must be a positive integer (ms), got ${value}`);
  }
}

export function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner === '') throw new TypeError('owner must be a non-empty string');
}

/**
 * The error text stored with a job: at most MAX_ERROR_CHARS code points, without NUL (a PostgreSQL text
 * value cannot hold it) and without unpaired surrogates (both stores would write U+FFFD for them).
 */
export function errorText(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).replaceAll('\u0000', '\uFFFD');
  return toWellFormed(sliceCodePoints(text, MAX_ERROR_CHARS));
}
