import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CircuitOpenError } from 'tripswitch';
import type { JobQueue, JobStatus, JobView, ModelGate, QueryResponse } from '../../domain/types.js';
import { newId } from '../db/ids.js';
import { bullmqWorkerConnection, closeClient, createCommandClient, isDown } from '../redis/connection.js';
import { jobErrorText, toJobView } from './job-view.js';

export interface BullMqJobQueueOptions {
  /** The Redis that holds the jobs (every instance behind it shares them). */
  url: string;
  /** Produces the answer for a job (the model only, no fallbacks). */
  run(userId: string, query: string, signal: AbortSignal): Promise<QueryResponse>;
  /** The model side's gate (its breaker, or either of two models): while open, jobs are put back untouched. */
  breaker: ModelGate;
  /** BullMQ queue name. Default 'jobs'. */
  name?: string;
  /** BullMQ key prefix. Default 'assistant' (keys `assistant:jobs:*`). */
  prefix?: string;
  /** Jobs answered at once by this instance's worker. Default 1, range [1, 16]. */
  concurrency?: number;
  /** Model failures a job may see before it fails for good. Default 20, range [1, 1000]. */
  attempts?: number;
  /** First retry delay after a model failure, doubled per attempt up to 60 s. Default 1000, range [1, 600000]. */
  backoffMs?: number;
  /** ms a running job's lock lasts (renewed while it runs); a dead worker's job is retried after it. Default 30000. */
  lockMs?: number;
  /** ms a finished job stays readable. Default 24 h (done) and 7 days (failed), range [1000, 90 days]. */
  keepDoneMs?: number;
  keepFailedMs?: number;
  /** ms an enqueue, lookup or count may take before it fails (request path). Default 2000, range [1, 60000]. */
  opTimeoutMs?: number;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

interface JobData {
  userId: string;
  query: string;
}

const DAY = 86_400_000;
// Job ids come from URLs: anything that is not one of ours is a miss without a Redis round trip.
const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `BullMqJobQueue option ${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  }
  return value;
}

const STATUS: Record<string, JobStatus> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'done',
  failed: 'failed',
};

/**
 * The durable queue in Redis mode: a BullMQ `Queue` (producer) and `Worker` in this process. Jobs survive
 * the death of any instance: a job whose worker died is retried by another worker once its lock expires.
 * While the model's circuit is open the worker moves each job it picks up back to the delayed set until
 * a probe may run, without using an attempt, so an outage of any length costs a job nothing.
 */
export class BullMqJobQueue implements JobQueue {
  readonly kind = 'bullmq';
  readonly queue: Queue<JobData, QueryResponse>;
  /** The producer's connection: ours, so a lost Redis can be told at once instead of waited out. */
  readonly #producer: Redis;
  readonly #opTimeoutMs: number;
  readonly #o: BullMqJobQueueOptions;
  readonly #workerSettings: {
    name: string;
    prefix: string;
    concurrency: number;
    lockMs: number;
    backoffMs: number;
  };
  #worker: Worker<JobData, QueryResponse> | undefined;
  #abort = new AbortController();
  #lastError = { message: '', at: 0 };

  constructor(options: BullMqJobQueueOptions) {
    if (typeof options?.run !== 'function')
      throw new TypeError('BullMqJobQueue option run must be a function');
    if (typeof options.breaker !== 'object' || options.breaker === null) {
      throw new TypeError('BullMqJobQueue option breaker must be a CircuitBreaker or a ModelGate');
    }
    const name = options.name ?? 'jobs';
    const prefix = options.prefix ?? 'assistant';
    for (const [key, value] of [
      ['name', name],
      ['prefix', prefix],
    ] as const) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        throw new TypeError(
          `BullMqJobQueue option ${key} must match [A-Za-z0-9_-]{1,64}, got "${String(value)}"`,
        );
      }
    }
    const attempts = int('attempts', options.attempts, 20, 1, 1000);
    const keepDone = int('keepDoneMs', options.keepDoneMs, DAY, 1000, 90 * DAY);
    const keepFailed = int('keepFailedMs', options.keepFailedMs, 7 * DAY, 1000, 90 * DAY);
    this.#workerSettings = {
      name,
      prefix,
      concurrency: int('concurrency', options.concurrency, 1, 1, 16),
      lockMs: int('lockMs', options.lockMs, 30_000, 1000, 3_600_000),
      backoffMs: int('backoffMs', options.backoffMs, 1000, 1, 600_000),
    };
    this.#opTimeoutMs = int('opTimeoutMs', options.opTimeoutMs, 2000, 1, 60_000);
    this.#o = options;
    this.#producer = createCommandClient(options.url, {
      name: 'assistant-jobs-producer',
      commandTimeoutMs: this.#opTimeoutMs,
      onError: (err) => this.#reportError('queue', err),
    });
    this.queue = new Queue<JobData, QueryResponse>(name, {
      connection: this.#producer,
      prefix,
      defaultJobOptions: {
        attempts,
        backoff: { type: 'capped-exponential' },
        // Finished jobs expire so Redis does not grow forever (BullMQ trims when later jobs finish).
        removeOnComplete: { age: Math.ceil(keepDone / 1000), count: 100_000 },
        removeOnFail: { age: Math.ceil(keepFailed / 1000), count: 100_000 },
      },
    });
    this.queue.on('error', (err) => this.#reportError('queue', err));
  }

  async enqueue(userId: string, query: string): Promise<string> {
    // Our own id: unguessable, and it lets `get` check the owner before showing anything.
    const id = newId('job');
    await this.#op('enqueue', () => this.queue.add('answer', { userId, query }, { jobId: id }));
    return id;
  }

  async get(userId: string, id: string): Promise<JobView | null> {
    if (!JOB_ID.test(id)) return null;
    // State first, then the job: a job read after its state can only be further along, so a 'done' status
    // always comes with its return value (reading them the other way round can see done without a result).
    const status = STATUS[await this.#op('lookup', () => this.queue.getJobState(id))];
    if (status === undefined) return null; // unknown or removed
    const job = (await this.#op('lookup', () => this.queue.getJob(id))) as
      | Job<JobData, QueryResponse>
      | undefined;
    // Another user's job is indistinguishable from a missing one.
    if (!job || job.data?.userId !== userId) return null;
    return toJobView({
      id,
      status,
      result: job.returnvalue,
      error: job.failedReason,
      createdAt: job.timestamp,
      updatedAt: job.finishedOn ?? job.processedOn ?? job.timestamp,
    });
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const c = await this.#op('count', () =>
      this.queue.getJobCounts(
        'waiting',
        'delayed',
        'prioritized',
        'waiting-children',
        'active',
        'completed',
        'failed',
      ),
    );
    const n = (key: string) => c[key] ?? 0;
    return {
      queued: n('waiting') + n('delayed') + n('prioritized') + n('waiting-children'),
      running: n('active'),
      done: n('completed'),
      failed: n('failed'),
    };
  }

  start(): void {
    if (this.#worker) return;
    const s = this.#workerSettings;
    this.#abort = new AbortController();
    const worker = new Worker<JobData, QueryResponse>(
      s.name,
      (job, token, signal) => this.#process(job, token, signal),
      {
        connection: bullmqWorkerConnection(this.#o.url),
        prefix: s.prefix,
        concurrency: s.concurrency,
        lockDuration: s.lockMs,
        // A job is only ever lost to repeated crashes, not to one restart.
        maxStalledCount: 5,
        settings: {
          backoffStrategy: (attemptsMade: number) =>
            Math.min(s.backoffMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 20)), 60_000),
        },
      },
    );
    worker.on('error', (err) => this.#reportError('worker', err));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        this.#o.logger?.warn({ job: job.id, err: err.message }, 'queued job failed for good');
      }
    });
    this.#worker = worker;
  }

  /**
   * Stops picking up jobs; a job in progress is aborted and put back (no attempt used), then the worker and
   * the producer close their connections. Never hangs on a lost Redis: a job whose put-back could not be
   * written is recovered by the next worker once its lock expires.
   */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#abort.abort(new Error('queue stopping'));
    if (worker) {
      // BullMQ's graceful close waits for Redis forever; without Redis there is nothing to hand back.
      const force = this.#producer.status !== 'ready';
      const closed = worker.close(force).catch((err) => this.#reportError('worker', err));
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#o.logger?.warn({}, 'job queue: worker did not close in 10 s; leaving it');
          resolve();
        }, 10_000);
        timer.unref();
      });
      await Promise.race([closed, gaveUp]);
      clearTimeout(timer);
    }
    await this.queue.close().catch((err) => this.#reportError('queue', err));
    await closeClient(this.#producer);
  }

  /**
   * A request-path operation: fails at once while the producer's connection is down, and after
   * `opTimeoutMs` otherwise (BullMQ would wait for Redis indefinitely).
   */
  async #op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (isDown(this.#producer)) {
      throw new Error(`job queue unavailable (${what}): Redis connection is ${this.#producer.status}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`job queue unavailable (${what}): no answer from Redis in ${this.#opTimeoutMs} ms`),
          ),
        this.#opTimeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #process(
    job: Job<JobData, QueryResponse>,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<QueryResponse> {
    const { breaker, run } = this.#o;
    const state = breaker.state;
    if (state === 'open' || state === 'isolated') {
      // The circuit refuses calls: wait for the probe window without touching the model or the attempts.
      await this.#putBack(job, token, breaker.retryAfter);
    }
    const stopping = this.#abort.signal;
    try {
      const result = await run(
        job.data.userId,
        job.data.query,
        signal ? AbortSignal.any([stopping, signal]) : stopping,
      );
      this.#o.logger?.info({ job: job.id }, 'queued job answered');
      return { ...result, metadata: { ...result.metadata, job_id: job.id as string } };
    } catch (err) {
      if (err instanceof CircuitOpenError) await this.#putBack(job, token, err.retryAfter);
      // Stopping: not the job's fault; it goes back to the queue for the next worker.
      if (stopping.aborted) await this.#putBack(job, token, 0);
      this.#o.logger?.warn({ job: job.id, err: (err as Error)?.message }, 'queued job not answered yet');
      // BullMQ keeps the message as the job's failedReason, which the job view shows: a safe one.
      throw new Error(jobErrorText(err), { cause: err });
    }
  }

  /** Moves the job to the delayed set (not counted as an attempt) and ends this run of it. */
  async #putBack(
    job: Job<JobData, QueryResponse>,
    token: string | undefined,
    afterMs: number,
  ): Promise<never> {
    const delay = Number.isFinite(afterMs) ? Math.min(Math.max(afterMs, 50), 5_000) : 5_000;
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  }

  /** ioredis reports every failed reconnect; one line per distinct error per 10 s is enough. */
  #reportError(source: string, err: Error): void {
    const now = Date.now();
    if (err.message === this.#lastError.message && now - this.#lastError.at < 10_000) return;
    this.#lastError = { message: err.message, at: now };
    this.#o.logger?.warn({ source, err: err.message }, 'job queue: Redis error');
  }
}
