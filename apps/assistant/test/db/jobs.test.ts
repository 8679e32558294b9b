import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/adapters/db/database.js';
import { JobRepository } from '../../src/adapters/db/jobs.js';
import { LATEST_SCHEMA_VERSION } from '../../src/adapters/db/migrations.js';
import { ensureUsers } from '../../src/adapters/db/users.js';
import { tempDatabase, tempDir } from './tmp-db.js';

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

function setup(t: TestContext, maxAttempts = 3) {
  const { db, path } = tempDatabase(t);
  ensureUsers(db, [
    { token: 'ta', user: 'alice' },
    { token: 'tb', user: 'bob' },
  ]);
  let now = T0;
  const clock = {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
  };
  return { db, path, clock, jobs: new JobRepository(db, { now: clock.now, maxAttempts }) };
}

describe('jobs: enqueue and read', () => {
  test('enqueueJob stores a queued job with its options', (t) => {
    const { jobs } = setup(t);
    const job = jobs.enqueueJob('alice', 'what is grace?', { fallback: ['queue'], include_metadata: true });
    assert.match(job.id, /^job_[A-Za-z0-9_-]{22}$/);
    assert.equal(job.status, 'queued');
    assert.equal(job.attempts, 0);
    assert.equal(job.maxAttempts, 3);
    assert.equal(job.nextRunAt, T0);
    assert.deepEqual(jobs.getJob('alice', job.id), job);
    assert.deepEqual(job.options, { fallback: ['queue'], include_metadata: true });
  });

  test("another user's job is null, as is an unknown id", (t) => {
    const { jobs } = setup(t);
    const job = jobs.enqueueJob('alice', 'q');
    assert.equal(jobs.getJob('bob', job.id), null);
    assert.equal(jobs.getJob('alice', 'job_nope'), null);
  });

  test('invalid settings throw naming the option', (t) => {
    const { db, jobs } = setup(t);
    assert.throws(
      () => new JobRepository(db, { maxAttempts: 0 }),
      /maxAttempts must be an integer in \[1, 100\]/,
    );
    assert.throws(() => jobs.enqueueJob('alice', 'q', {}, { maxAttempts: 1.5 }), RangeError);
    assert.throws(() => jobs.claimNextJob('w', T0, 0), /leaseMs/);
    assert.throws(() => jobs.claimNextJob('', T0, LEASE), TypeError);
    assert.throws(() => jobs.enqueueJob('nobody', 'q'), /FOREIGN KEY/);
  });
});

describe('jobs: claiming', () => {
  test('claims due jobs oldest first, sets the lease, and skips jobs not yet due', (t) => {
    const { jobs, clock } = setup(t);
    const later = jobs.enqueueJob('alice', 'later', {}, { runAt: T0 + 10_000 });
    const first = jobs.enqueueJob('alice', 'first');
    clock.set(T0 + 1);
    const second = jobs.enqueueJob('bob', 'second');

    const c1 = jobs.claimNextJob('w1', T0 + 5, LEASE);
    assert.equal(c1?.id, first.id);
    assert.equal(c1?.status, 'running');
    assert.equal(c1?.attempts, 1);
    assert.equal(c1?.leaseOwner, 'w1');
    assert.equal(c1?.leaseExpiresAt, T0 + 5 + LEASE);
    assert.equal(jobs.claimNextJob('w1', T0 + 5, LEASE)?.id, second.id);
    assert.equal(jobs.claimNextJob('w1', T0 + 5, LEASE), null, 'the later job is not due yet');
    assert.equal(jobs.claimNextJob('w1', T0 + 10_000, LEASE)?.id, later.id);
    assert.deepEqual(jobs.countJobs(), { queued: 0, running: 3, done: 0, failed: 0 });
  });

  test('two connections claiming in turn never get the same job', (t) => {
    const { path, jobs } = setup(t);
    for (let i = 0; i < 20; i++) jobs.enqueueJob('alice', `q${i}`);
    const other = new JobRepository(openDatabaseFor(t, path));
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      for (const [repo, owner] of [
        [jobs, 'a'],
        [other, 'b'],
      ] as const) {
        const job = repo.claimNextJob(owner, T0, LEASE);
        assert.ok(job);
        assert.ok(!seen.has(job.id), `claimed twice: ${job.id}`);
        seen.add(job.id);
      }
    }
    assert.equal(seen.size, 20);
    assert.equal(jobs.claimNextJob('a', T0, LEASE), null);
  });

  test('concurrent claimers in separate processes never get the same job', async (t) => {
    const { path, jobs } = setup(t);
    const total = 120;
    for (let i = 0; i < total; i++) jobs.enqueueJob('alice', `q${i}`, {}, { runAt: 0 });
    const runs = await runClaimers(path, ['p1', 'p2', 'p3', 'p4']);
    const all = runs.flat();
    assert.equal(all.length, total, 'every job claimed exactly once in total');
    assert.equal(new Set(all).size, total, 'no job claimed twice');
    assert.deepEqual(jobs.countJobs(), { queued: 0, running: 0, done: total, failed: 0 });
  });

  test('processes opening a brand-new file at once migrate it exactly once', async (t) => {
    const path = join(tempDir(t), 'fresh', 'race.db');
    const runs = await runClaimers(path, ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(runs, [[], [], [], []]);
    const db = openDatabaseFor(t, path);
    assert.equal(db.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION);
  });
});

/** Runs one claimer-child process per owner against the file at `path`; resolves with each one's claims. */
function runClaimers(path: string, owners: string[]): Promise<string[][]> {
  const child = fileURLToPath(new URL('./claimer-child.ts', import.meta.url));
  return Promise.all(
    owners.map(
      (owner) =>
        new Promise<string[]>((resolve, reject) => {
          const proc = spawn(
            process.execPath,
            ['--conditions=tripswitch-source', '--import', 'tsx', child, path, owner],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let out = '';
          let err = '';
          proc.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          proc.stderr.on('data', (d: Buffer) => {
            err += d.toString();
          });
          proc.on('error', reject);
          proc.on('close', (code) => {
            if (code === 0) resolve(JSON.parse(out) as string[]);
            else reject(new Error(`claimer ${owner} exited ${code}: ${err}`));
          });
        }),
    ),
  );
}

function openDatabaseFor(t: TestContext, path: string) {
  const db = openDatabase(path);
  t.after(() => db.close());
  return db;
}

describe('jobs: leases', () => {
  test('a running job whose worker died is reclaimed once its lease expires', (t) => {
    const { jobs } = setup(t);
    const job = jobs.enqueueJob('alice', 'q');
    assert.equal(jobs.claimNextJob('dead-worker', T0, LEASE)?.id, job.id);
    // The dead worker never renews or completes. Before expiry nobody else can take it...
    assert.equal(jobs.claimNextJob('w2', T0 + LEASE - 1, LEASE), null);
    // ...after expiry it is claimed again, counting the lost attempt.
    const again = jobs.claimNextJob('w2', T0 + LEASE, LEASE);
    assert.equal(again?.id, job.id);
    assert.equal(again?.leaseOwner, 'w2');
    assert.equal(again?.attempts, 2);
  });

  test('a stale worker cannot complete, retry, fail or renew a job it lost', (t) => {
    const { jobs } = setup(t);
    const job = jobs.enqueueJob('alice', 'q');
    jobs.claimNextJob('slow', T0, LEASE);
    jobs.claimNextJob('fresh', T0 + LEASE + 1, LEASE);
    assert.equal(jobs.completeJob(job.id, 'slow', { answer: 'stale' }), false);
    assert.equal(jobs.retryJob(job.id, 'slow', T0, 'x'), null);
    assert.equal(jobs.failJob(job.id, 'slow', 'x'), false);
    assert.equal(jobs.renewLease(job.id, 'slow', T0 + LEASE + 2, LEASE), false);
    assert.equal(jobs.completeJob(job.id, 'fresh', { answer: 'fresh' }), true);
    const done = jobs.getJob('alice', job.id);
    assert.equal(done?.status, 'done');
    assert.deepEqual(done?.result, { answer: 'fresh' });
    assert.equal(done?.leaseOwner, null);
    // Finished jobs are immutable to everyone.
    assert.equal(jobs.completeJob(job.id, 'fresh', { answer: 'again' }), false);
  });

  test('renewLease keeps a live worker’s job from being reclaimed', (t) => {
    const { jobs } = setup(t);
    const job = jobs.enqueueJob('alice', 'q');
    jobs.claimNextJob('w1', T0, LEASE);
    assert.equal(jobs.renewLease(job.id, 'w1', T0 + LEASE - 1, LEASE), true);
    assert.equal(jobs.claimNextJob('w2', T0 + LEASE + 1, LEASE), null);
    assert.equal(jobs.getJob('alice', job.id)?.leaseExpiresAt, T0 + 2 * LEASE - 1);
  });

  test('a job that keeps killing its worker fails after max attempts instead of looping', (t) => {
    const { jobs } = setup(t, 2);
    const job = jobs.enqueueJob('alice', 'poison');
    assert.ok(jobs.claimNextJob('w1', T0, LEASE));
    assert.ok(jobs.claimNextJob('w2', T0 + LEASE, LEASE));
    assert.equal(jobs.claimNextJob('w3', T0 + 2 * LEASE, LEASE), null);
    const failed = jobs.getJob('alice', job.id);
    assert.equal(failed?.status, 'failed');
    assert.match(failed?.error ?? '', /lease expired/);
  });
});

describe('jobs: retry and completion', () => {
  test('retryJob requeues at nextRunAt until max attempts, then fails', (t) => {
    const { jobs } = setup(t, 2);
    const job = jobs.enqueueJob('alice', 'q');
    jobs.claimNextJob('w', T0, LEASE);
    assert.equal(jobs.retryJob(job.id, 'w', T0 + 5_000, new Error('circuit open')), 'queued');
    const queued = jobs.getJob('alice', job.id);
    assert.equal(queued?.status, 'queued');
    assert.equal(queued?.error, 'circuit open');
    assert.equal(queued?.leaseOwner, null);
    assert.equal(jobs.nextDueAt(), T0 + 5_000);
    assert.equal(jobs.claimNextJob('w', T0 + 4_999, LEASE), null, 'not before nextRunAt');
    assert.equal(jobs.claimNextJob('w', T0 + 5_000, LEASE)?.attempts, 2);
    assert.equal(jobs.retryJob(job.id, 'w', T0 + 10_000, 'still down'), 'failed');
    assert.equal(jobs.getJob('alice', job.id)?.status, 'failed');
    assert.equal(jobs.claimNextJob('w', T0 + 99_000, LEASE), null);
    assert.equal(jobs.nextDueAt(), null);
  });

  test('failJob ends a job for good; countJobs reports every status', (t) => {
    const { jobs } = setup(t);
    const a = jobs.enqueueJob('alice', 'a');
    const b = jobs.enqueueJob('alice', 'b');
    jobs.enqueueJob('bob', 'c');
    jobs.claimNextJob('w', T0, LEASE);
    jobs.claimNextJob('w', T0, LEASE);
    assert.equal(jobs.failJob(a.id, 'w', new Error('no context')), true);
    assert.equal(jobs.completeJob(b.id, 'w', { answer: 'ok' }), true);
    assert.deepEqual(jobs.countJobs(), { queued: 1, running: 0, done: 1, failed: 1 });
  });

  test('pruneJobs deletes only finished jobs older than the cut-off', (t) => {
    const { jobs, clock } = setup(t);
    const old = jobs.enqueueJob('alice', 'old');
    jobs.claimNextJob('w', T0, LEASE);
    jobs.completeJob(old.id, 'w', null);
    clock.set(T0 + 100_000);
    const pending = jobs.enqueueJob('alice', 'pending');
    assert.equal(jobs.pruneJobs(T0 + 50_000), 1);
    assert.equal(jobs.getJob('alice', old.id), null);
    assert.ok(jobs.getJob('alice', pending.id));
  });

  test('queued and finished jobs survive closing and reopening the database', (t) => {
    const { db, path, jobs } = setup(t);
    const finished = jobs.enqueueJob('alice', 'finished');
    const inflight = jobs.enqueueJob('bob', 'in flight');
    const waiting = jobs.enqueueJob('alice', 'waiting', { fallback: ['queue'] });
    assert.equal(jobs.claimNextJob('w', T0, LEASE)?.id, finished.id);
    assert.equal(jobs.completeJob(finished.id, 'w', { answer: 'kept' }), true);
    assert.equal(jobs.claimNextJob('w', T0, LEASE)?.id, inflight.id);
    db.close();

    const reopened = openDatabaseFor(t, path);
    const after = new JobRepository(reopened, { now: () => T0 });
    assert.equal(after.getJob('alice', waiting.id)?.status, 'queued');
    assert.deepEqual(after.getJob('alice', waiting.id)?.options, { fallback: ['queue'] });
    assert.deepEqual(after.getJob('alice', finished.id)?.result, { answer: 'kept' });
    // The job that was running when the process "died" is picked up after its lease runs out.
    const first = after.claimNextJob('new-process', T0 + LEASE, LEASE);
    const second = after.claimNextJob('new-process', T0 + LEASE, LEASE);
    assert.deepEqual(new Set([first?.id, second?.id]), new Set([waiting.id, inflight.id]));
  });
});
