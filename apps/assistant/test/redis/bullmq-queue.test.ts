// BullMqJobQueue against a private redis-server with a real tripswitch breaker: status mapping, owner
// checks, results in the response shape, no attempts burnt while the circuit is open, retries with
// backoff, and a graceful stop that hands a running job back to the queue.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker } from 'tripswitch';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { BullMqJobQueue, type BullMqJobQueueOptions } from '../../src/adapters/queue/bullmq-queue.js';
import type { JobView, QueryResponse } from '../../src/domain/types.js';

const reply = (text: string): QueryResponse => ({
  answer: text,
  sources: [],
  metadata: { from_fallback: false, cached: false },
});

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('BullMqJobQueue', { skip: skipWithoutRedis() }, () => {
  let server: RedisServer;
  const queues: BullMqJobQueue[] = [];

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const q of queues) await q.stop();
    await server.stop();
  });

  /** A queue of its own (unique name) around `run`, guarded by `breaker`. */
  function makeQueue(
    run: BullMqJobQueueOptions['run'],
    breaker = new CircuitBreaker({ name: 'llm', failMax: 100 }),
    extra: Partial<BullMqJobQueueOptions> = {},
  ): BullMqJobQueue {
    const q = new BullMqJobQueue({
      url: server.url,
      name: `t-${randomUUID().slice(0, 8)}`,
      run,
      breaker,
      backoffMs: 20,
      ...extra,
    });
    queues.push(q);
    return q;
  }

  const settled = (q: BullMqJobQueue, user: string, id: string) =>
    until<JobView>(`job ${id} to settle`, async () => {
      const view = await q.get(user, id);
      return view && (view.status === 'done' || view.status === 'failed') ? view : undefined;
    });

  test('a job is answered in the response shape with metadata.job_id; only its owner can read it', async () => {
    const seen: Array<[string, string]> = [];
    const q = makeQueue(async (userId, query) => {
      seen.push([userId, query]);
      return reply(`answer to ${query}`);
    });
    const id = await q.enqueue('alice', 'what is grace');
    assert.match(id, /^job_[A-Za-z0-9_-]+$/);
    const queued = await q.get('alice', id);
    assert.equal(queued?.status, 'queued');
    assert.equal(await q.get('bob', id), null, 'another user sees nothing');
    assert.equal(await q.get('alice', 'job_doesnotexist'), null);
    assert.equal(await q.get('alice', '../../etc'), null);

    q.start();
    const done = await settled(q, 'alice', id);
    assert.equal(done.status, 'done');
    assert.deepEqual(done.result, {
      answer: 'answer to what is grace',
      sources: [],
      metadata: { from_fallback: false, cached: false, job_id: id },
    });
    assert.deepEqual(seen, [['alice', 'what is grace']]);
    assert.equal(await q.get('bob', id), null, 'not even once done');
    assert.ok(Date.parse(done.updated_at) >= Date.parse(done.created_at));
    const counts = await q.counts();
    assert.deepEqual(counts, { queued: 0, running: 0, done: 1, failed: 0 });
  });

  test('a running job reads as running', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const q = makeQueue(async () => {
      await gate;
      return reply('ok');
    });
    const id = await q.enqueue('alice', 'slow one');
    q.start();
    await until('running', async () => ((await q.get('alice', id))?.status === 'running' ? true : undefined));
    assert.equal((await q.counts()).running, 1);
    release();
    assert.equal((await settled(q, 'alice', id)).status, 'done');
  });

  test('while the circuit is open the worker never calls the model and uses no attempt', async () => {
    const breaker = new CircuitBreaker({ name: 'llm', failMax: 1, openDuration: 60_000 });
    breaker.open();
    let calls = 0;
    // attempts: 1 — if an open circuit burnt an attempt, the job would fail at once.
    const q = makeQueue(
      async () => {
        calls++;
        return reply('finally');
      },
      breaker,
      { attempts: 1 },
    );
    const id = await q.enqueue('alice', 'during the outage');
    q.start();
    await sleep(600);
    assert.equal(calls, 0);
    assert.equal((await q.get('alice', id))?.status, 'queued');

    breaker.close();
    const done = await settled(q, 'alice', id);
    assert.equal(done.status, 'done');
    assert.equal(done.result?.answer, 'finally');
    assert.equal(calls, 1);
  });

  test('model failures are retried with backoff, and a job fails for good after its attempts', async () => {
    let calls = 0;
    const q = makeQueue(
      async () => {
        calls++;
        if (calls < 3) throw new Error('upstream 503');
        return reply('third time lucky');
      },
      undefined,
      { attempts: 5 },
    );
    const id = await q.enqueue('alice', 'flaky');
    q.start();
    const done = await settled(q, 'alice', id);
    assert.equal(done.result?.answer, 'third time lucky');
    assert.equal(calls, 3);

    let hopeless = 0;
    const q2 = makeQueue(
      async () => {
        hopeless++;
        throw new Error('model is gone');
      },
      undefined,
      { attempts: 2 },
    );
    const id2 = await q2.enqueue('alice', 'never');
    q2.start();
    const failed = await settled(q2, 'alice', id2);
    assert.equal(failed.status, 'failed');
    // The view names the error's class and kind, never the upstream's own text (it can carry secrets).
    assert.equal(failed.error, 'the model could not answer: Error (unknown)');
    assert.equal(failed.result, undefined);
    assert.equal(hopeless, 2);
    assert.equal((await q2.counts()).failed, 1);
  });

  test('stop() aborts a running job and hands it back; another worker answers it', async () => {
    const name = `t-${randomUUID().slice(0, 8)}`;
    let aborted = 0;
    const first = makeQueue(
      (_user, _query, signal) =>
        new Promise<QueryResponse>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted++;
            reject(new Error('aborted'));
          });
        }),
      undefined,
      { name, attempts: 1 },
    );
    const id = await first.enqueue('alice', 'interrupted');
    first.start();
    await until('running', async () =>
      (await first.get('alice', id))?.status === 'running' ? true : undefined,
    );
    await first.stop();
    assert.equal(aborted, 1);

    // attempts: 1 — had the stop counted as a failure, the job would now be failed.
    const second = makeQueue(async () => reply('picked up again'), undefined, { name, attempts: 1 });
    assert.equal((await second.get('alice', id))?.status, 'queued');
    second.start();
    const done = await settled(second, 'alice', id);
    assert.equal(done.result?.answer, 'picked up again');
  });

  test('invalid options throw at construction, naming the option and its range', () => {
    const base = { url: server.url, run: async () => reply('x'), breaker: new CircuitBreaker() };
    assert.throws(
      () => new BullMqJobQueue({ ...base, concurrency: 0 }),
      (err: Error) => err instanceof RangeError && /concurrency.*\[1, 16\]/.test(err.message),
    );
    assert.throws(() => new BullMqJobQueue({ ...base, attempts: 1.5 }), /attempts/);
    assert.throws(() => new BullMqJobQueue({ ...base, name: 'a:b' }), TypeError);
    assert.throws(() => new BullMqJobQueue({ ...base, url: 'nope' }), /REDIS_URL/);
  });
});
