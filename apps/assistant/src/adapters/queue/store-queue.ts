// The durable queue over a job table (any `JobStore`: SQLite embedded, PostgreSQL with DATABASE_URL).
// A worker in each process claims due jobs with a lease, only while the breaker admits calls, answers
// them through the model, and stores the result. Nothing is lost across a crash: a running job whose
// lease expires is claimed again by the next worker, in this process or another. A graceful stop hands
// the running job back at once, its claim not counted as an attempt.
import { randomUUID } from 'node:crypto';
import { CircuitOpenError, isPolicyRejection } from 'tripswitch';
import type { Job, JobStore } from '../../domain/storage.js';
import type { JobQueue, JobStatus, JobView, ModelGate, QueryResponse } from '../../domain/types.js';
import { jobErrorText, toJobView } from './job-view.js';

export interface StoreJobQueueOptions {
  /** Where jobs live. */
  store: JobStore;
  /** Shown in health output and metrics: 'sqlite' or 'postgres'. */
  kind: string;
  /** Produces the answer for a job (the model only, no fallbacks). */
  run(userId: string, query: string, signal: AbortSignal): Promise<QueryResponse>;
  /** The model side's gate (its breaker, or either of two models): no claims while it is open. */
  breaker: ModelGate;
  /** Lease per claimed job (ms), renewed while the job runs; a dead worker's job is claimed again after it. */
  leaseMs: number;
  /** Unfinished jobs one user may have; beyond it enqueue throws QueueFullError. Default 100. */
  maxPendingPerUser?: number;
  /** Claims a job may use before it fails for good. Default 20. */
  maxAttempts?: number;
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

export class StoreJobQueue implements JobQueue {
  readonly kind: string;
  readonly owner = `worker-${randomUUID()}`;
  readonly #o: StoreJobQueueOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #abort = new AbortController();
  #started = false;
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(options: StoreJobQueueOptions) {
    if (!Number.isInteger(options.leaseMs) || options.leaseMs < 100) {
      throw new RangeError(`leaseMs must be an integer ≥ 100 (ms), got ${options.leaseMs}`);
    }
    this.#o = options;
    this.kind = options.kind;
    this.#now = options.now ?? Date.now;
  }

  async enqueue(userId: string, query: string): Promise<string> {
    const { store } = this.#o;
    if ((await store.countPendingJobs(userId)) >= (this.#o.maxPendingPerUser ?? 100)) {
      throw new QueueFullError(userId);
    }
    const job = await store.enqueueJob(userId, query, {}, { maxAttempts: this.#o.maxAttempts ?? 20 });
    this.#wake(0);
    return job.id;
  }

  async get(userId: string, id: string): Promise<JobView | null> {
    const job = await this.#o.store.getJob(userId, id);
    return job ? toJobView(job) : null;
  }

  async counts(): Promise<Record<JobStatus, number>> {
    return this.#o.store.countJobs();
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#abort = new AbortController();
    this.#wake(0);
  }

  /** Stops claiming, aborts the job in progress and hands it back (no attempt spent), then returns. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('queue stopping'));
    await this.#running;
  }

  /** A store call that fails (busy or unreachable database) is logged; leases make the job claimable again. */
  async #store<R>(what: string, call: () => Promise<R>): Promise<R | undefined> {
    try {
      return await call();
    } catch (err) {
      this.#o.logger?.warn({ err: (err as Error)?.message }, `job queue: cannot ${what}`);
      return undefined;
    }
  }

  async #prune(): Promise<void> {
    const now = this.#now();
    if (now - this.#prunedAt < 60_000) return;
    this.#prunedAt = now;
    await this.#store('prune finished jobs', () =>
      this.#o.store.pruneJobs(now - (this.#o.keepFinishedMs ?? 7 * 86_400_000)),
    );
  }

  #wake(delayMs: number): void {
    if (!this.#started || this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
        if (this.#started) this.#wake(this.#nextWake);
      });
    }, delayMs);
    this.#timer.unref();
  }

  #nextWake = 0;

  async #drain(): Promise<void> {
    const { store, breaker, leaseMs } = this.#o;
    const idle = this.#o.idleMs ?? 1000;
    this.#nextWake = idle;
    await this.#prune();
    while (this.#started) {
      const state = breaker.state;
      if (state === 'open' || state === 'isolated') {
        // Back off while the circuit is open: wake when a probe may run.
        this.#nextWake = Math.min(Math.max(breaker.retryAfter, 50), 5_000);
        return;
      }
      let job: Job | null;
      try {
        job = await store.claimNextJob(this.owner, this.#now(), leaseMs);
        if (!job) {
          const due = await store.nextDueAt();
          this.#nextWake = due === null ? idle : Math.min(Math.max(due - this.#now(), 10), idle);
          return;
        }
      } catch (err) {
        // The database is busy or gone: try again later rather than crash the process.
        this.#o.logger?.warn({ err: (err as Error)?.message }, 'job queue: cannot claim jobs');
        return;
      }
      if (!this.#started) {
        await this.#store('hand a job back', () => store.deferJob(job.id, this.owner, this.#now()));
        return;
      }
      const refusedFor = await this.#runOne(job, idle);
      if (refusedFor !== undefined) {
        this.#nextWake = refusedFor; // the protection refused: wait as told
        return;
      }
    }
  }

  /** Runs one claimed job to its stored outcome; returns how long to wait when the protection refused it. */
  async #runOne(job: Job, idle: number): Promise<number | undefined> {
    const { store, leaseMs } = this.#o;
    // Renew the lease while the job runs, so a long answer is not taken over by another worker.
    const renew = setInterval(
      () =>
        void this.#store('renew a lease', () => store.renewLease(job.id, this.owner, this.#now(), leaseMs)),
      Math.max(Math.floor(leaseMs / 3), 50),
    );
    renew.unref();
    let result: QueryResponse;
    try {
      result = await this.#o.run(job.userId, job.query, this.#abort.signal);
    } catch (err) {
      clearInterval(renew);
      if (!this.#started) {
        // Stopping: not the job's fault. Hand it back now, its claim not counted, for the next worker.
        await this.#store('hand a job back', () => store.deferJob(job.id, this.owner, this.#now()));
        return undefined;
      }
      if (isPolicyRejection(err)) {
        // The protection refused (a probe is already out, or the bulkhead is full): the model was never
        // asked, so the claim costs no attempt. Stop draining until the breaker says a call may run.
        const retryAfter = err instanceof CircuitOpenError ? err.retryAfter : idle;
        const wait = Math.min(Math.max(Number.isFinite(retryAfter) ? retryAfter : idle, 100), 5_000);
        await this.#store('defer a job', () => store.deferJob(job.id, this.owner, this.#now() + wait));
        return wait;
      }
      const delay = Math.min(1000 * 2 ** Math.min(job.attempts, 6), 60_000);
      const status = await this.#store('record a failed attempt', () =>
        // What is stored (and shown to the owner) is the error's class, never upstream text (DESIGN 3.3).
        store.retryJob(job.id, this.owner, this.#now() + delay, jobErrorText(err)),
      );
      this.#o.logger?.warn(
        { job: job.id, status, err: (err as Error)?.message },
        'queued job not answered yet',
      );
      return undefined;
    }
    clearInterval(renew);
    const metadata = { ...result.metadata, job_id: job.id };
    const stored = await this.#store('store a job result', () =>
      store.completeJob(job.id, this.owner, { ...result, metadata }),
    );
    if (stored) this.#o.logger?.info({ job: job.id }, 'queued job answered');
    return undefined;
  }
}
