import { randomUUID } from 'node:crypto';
import { CircuitOpenError, isPolicyRejection } from 'tripswitch';
import type { JobQueue, JobStatus, JobView, ModelGate, QueryResponse } from '../../domain/types.js';
import type { JobRepository } from '../db/jobs.js';
import { jobErrorText, toJobView } from './job-view.js';

export interface SqliteJobQueueOptions {
  repo: JobRepository;
  /** Produces the answer for a job (the model only, no fallbacks). */
  run(userId: string, query: string, signal: AbortSignal): Promise<QueryResponse>;
  /** The model side's gate (its breaker, or either of two models): no claims while it is open. */
  breaker: ModelGate;
  /** Lease per claimed job; a job whose worker died is claimed again after it. Must exceed the LLM timeout. */
  leaseMs: number;
  /** Unfinished jobs one user may have; beyond it the queue rung is skipped. Default 100. */
  maxPendingPerUser?: number;
  /** Finished jobs are deleted this long after they finish. Default 7 days. */
  keepFinishedMs?: number;
  /** Longest sleep between looks at the table when idle. Default 1000 ms. */
  idleMs?: number;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  now?: () => number;
}

/** One user has as many unfinished jobs as the queue allows. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(readonly userId: string) {
    super('too many unfinished jobs for this user');
  }
}

/**
 * The embedded durable queue: jobs live in SQLite, a worker in this process claims them with a lease.
 * Nothing is lost across a crash: a running job whose lease expires is claimed again by the next worker.
 * The worker only claims when the breaker admits calls, so an outage costs no attempts.
 */
export class SqliteJobQueue implements JobQueue {
  readonly kind = 'sqlite';
  readonly owner = `worker-${randomUUID()}`;
  readonly #o: SqliteJobQueueOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #abort = new AbortController();
  #started = false;
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(options: SqliteJobQueueOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async enqueue(userId: string, query: string): Promise<string> {
    if (this.#o.repo.countPendingJobs(userId) >= (this.#o.maxPendingPerUser ?? 100)) {
      throw new QueueFullError(userId);
    }
    const job = this.#o.repo.enqueueJob(userId, query, {}, { maxAttempts: 20 });
    this.#wake(0);
    return job.id;
  }

  async get(userId: string, id: string): Promise<JobView | null> {
    const job = this.#o.repo.getJob(userId, id);
    return job ? toJobView(job) : null;
  }

  async counts(): Promise<Record<JobStatus, number>> {
    return this.#o.repo.countJobs();
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#abort = new AbortController();
    this.#wake(0);
  }

  /**
   * Stops claiming, aborts the job in progress and waits for it: an interrupted job goes straight back to
   * `queued` without spending an attempt (a worker that dies instead leaves it to its lease). Call it
   * before closing the database.
   */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('queue stopping'));
    await this.#running;
  }

  /** Deletes finished jobs past their keep time, at most once a minute. */
  #prune(): void {
    const now = this.#now();
    if (now - this.#prunedAt < 60_000) return;
    this.#prunedAt = now;
    this.#store(() => this.#o.repo.pruneJobs(now - (this.#o.keepFinishedMs ?? 7 * 86_400_000)));
  }

  /** A write that fails (busy or closed database) is logged; the job's lease makes it claimable again. */
  #store<R>(write: () => R): R | undefined {
    try {
      return write();
    } catch (err) {
      this.#o.logger?.warn({ err: (err as Error)?.message }, 'job queue: cannot record a job result');
      return undefined;
    }
  }

  #wake(delayMs: number): void {
    if (!this.#started || this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    const { repo, breaker, leaseMs } = this.#o;
    const idle = this.#o.idleMs ?? 1000;
    let next = idle;
    this.#prune();
    while (this.#started) {
      const state = breaker.state;
      if (state === 'open' || state === 'isolated') {
        // Back off while the circuit is open: wake when a probe may run.
        next = Math.min(Math.max(breaker.retryAfter, 50), 5_000);
        break;
      }
      let job: ReturnType<JobRepository['claimNextJob']>;
      try {
        job = repo.claimNextJob(this.owner, this.#now(), leaseMs);
        if (!job) {
          const due = repo.nextDueAt();
          next = due === null ? idle : Math.min(Math.max(due - this.#now(), 10), idle);
          break;
        }
      } catch (err) {
        // The database is busy or gone: try again later rather than crash the process.
        this.#o.logger?.warn({ err: (err as Error)?.message }, 'job queue: cannot claim jobs');
        next = idle;
        break;
      }
      let result: QueryResponse;
      try {
        result = await this.#o.run(job.userId, job.query, this.#abort.signal);
      } catch (err) {
        if (!this.#started) {
          // Stopping (a graceful shutdown aborted the call): hand the job back at once, its claim not
          // counted as an attempt, so the next worker (a restart) takes it now, not after the lease.
          this.#store(() => repo.deferJob(job.id, this.owner, this.#now()));
          this.#o.logger?.info({ job: job.id }, 'queued job handed back on stop');
          break;
        }
        if (isPolicyRejection(err)) {
          // The protection refused (a probe is already out, or the bulkhead is full): the model was never
          // asked, so the claim costs no attempt. Stop draining until the breaker says a call may run.
          const wait =
            err instanceof CircuitOpenError && Number.isFinite(err.retryAfter) ? err.retryAfter : idle;
          next = Math.min(Math.max(wait, 100), 5_000);
          this.#store(() => repo.deferJob(job.id, this.owner, this.#now() + next));
          break;
        }
        const delay = Math.min(1000 * 2 ** Math.min(job.attempts, 6), 60_000);
        const status = this.#store(() =>
          repo.retryJob(job.id, this.owner, this.#now() + delay, jobErrorText(err)),
        );
        this.#o.logger?.warn(
          { job: job.id, status, err: (err as Error)?.message },
          'queued job not answered yet',
        );
        continue;
      }
      const metadata = { ...result.metadata, job_id: job.id };
      this.#store(() => repo.completeJob(job.id, this.owner, { ...result, metadata }));
      this.#o.logger?.info({ job: job.id }, 'queued job answered');
    }
    this.#running = undefined;
    if (this.#started) this.#wake(next);
  }
}
