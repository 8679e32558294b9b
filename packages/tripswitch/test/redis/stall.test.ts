import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import type { ProbeLease } from 'tripswitch';
import type { RedisStore } from 'tripswitch/redis';
import { scripts } from '../../src/redis/scripts.js';
import { skipWithoutRedis } from '../helpers/redis-server.js';
import {
  breakerConfig,
  eventually,
  keyOf,
  recordingSink,
  sleep,
  TOPOLOGIES,
  uniqueName,
  useRedis,
} from './support.js';

/*
 * The cluster's one HALF-OPEN probe when an instance is paused (a busy or starved event loop, a GC pause)
 * or Redis answers late. Both are made deterministic here: the event loop is blocked synchronously until
 * Redis has certainly run our command, and Redis itself is paused with CLIENT PAUSE.
 */

const PREFIX = 'tst-stall';

/** Block this process's event loop for `ms` (a stand-in for a starved or GC-paused process). */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}

/** Ask the server with redis-cli, synchronously (the event loop stays blocked). */
function cliExists(port: number, key: string): boolean {
  return (
    execFileSync('redis-cli', ['-c', '-p', String(port), 'EXISTS', key], { encoding: 'utf8' }).trim() === '1'
  );
}

for (const topology of TOPOLOGIES) {
  describe(`RedisStore under stalls (${topology})`, { skip: skipWithoutRedis() }, () => {
    const redis = useRedis(PREFIX, {}, topology);

    const masters = () => (redis.raw instanceof Cluster ? redis.raw.nodes('master') : [redis.raw]);

    /** Read until the store is connected: A's short commandTimeout may trip while this machine is loaded. */
    async function connected(store: RedisStore): Promise<void> {
      const until = Date.now() + 60_000;
      for (;;) {
        await store.refresh().catch(() => {});
        if (store.status === 'connected') return;
        assert.ok(Date.now() < until, 'the store did not connect');
        await sleep(50);
      }
    }

    /** Two instances that both see an OPEN whose time is up (probing time). */
    async function probingTime(name: string, timeoutA: number) {
      // Each request then goes out as one EVALSHA (no NOSCRIPT round trip).
      await Promise.all(
        masters().map((m) => Promise.all(Object.values(scripts).map((sc) => m.script('LOAD', sc.source)))),
      );
      const a = redis.store({ commandTimeout: timeoutA });
      const b = redis.store({ commandTimeout: 30_000 });
      const sa = recordingSink(name);
      const sb = recordingSink(name);
      const la = a.attach(sa, breakerConfig({ halfOpenTimeout: 600_000 }));
      const lb = b.attach(sb, breakerConfig({ halfOpenTimeout: 600_000 }));
      await Promise.all([connected(a), connected(b)]);
      lb.transitioned('closed', { state: 'open', openUntil: Date.now() }); // probing time at once
      await eventually('A adopts OPEN', () => sa.last()?.state === 'open');
      return { a, b, la, lb };
    }

    test('a lease reply that arrived while the event loop was blocked past commandTimeout is no timeout', async () => {
      const name = uniqueName('blocked');
      const timeout = 1_000;
      const { a, la, lb } = await probingTime(name, timeout);
      const errorsBefore = a.stats().commandErrors;
      const key = keyOf(PREFIX, name, 'probe:0');
      // Like a process that got no CPU: the request goes out, then the event loop stands still until Redis
      // has granted the lease and A's command deadline has passed. Done in two immediates of one check
      // phase, so no poll phase can read the reply before the loop starts its next turn with the timers.
      const asked = await new Promise<{ lease: ReturnType<typeof la.acquireProbe> }>((resolve, reject) => {
        let started = 0;
        let lease: ReturnType<typeof la.acquireProbe> = null;
        setImmediate(() => {
          started = Date.now();
          lease = la.acquireProbe(); // the request is written in the microtasks that follow
        });
        setImmediate(() => {
          const deadline = Date.now() + 30_000;
          while (!cliExists(redis.server.port, key)) {
            if (Date.now() > deadline) return reject(new Error('the lease request never reached Redis'));
            blockFor(10);
          }
          blockFor(started + timeout + 200 - Date.now());
          resolve({ lease });
        });
      });
      // The reply has been waiting in the socket since before the deadline: it is read, not discarded.
      const lease = await asked.lease;
      assert.equal(a.status, 'connected', 'a blocked event loop is not an unreachable Redis');
      assert.equal(a.stats().commandErrors, errorsBefore);
      assert.ok(lease !== null, 'A holds the lease Redis granted it');
      assert.equal(await lb.acquireProbe(), null, 'and nobody else gets one');
      lease.release('neutral');
    });

    test('a lease request that timed out admits no probe (its grant may still land); the slot goes to one other', async () => {
      const name = uniqueName('paused');
      const timeout = 1_000;
      const { a, la, lb } = await probingTime(name, timeout);
      const errorsBefore = a.stats().commandErrors;
      // Writes (our scripts) wait while reads and CLIENT UNPAUSE go on; long enough that A surely gives up.
      await Promise.all(masters().map((m) => m.call('CLIENT', 'PAUSE', '120000', 'WRITE')));
      let answer: ProbeLease | null | undefined;
      try {
        answer = await la.acquireProbe(); // Redis runs it after the pause: after A gave up
      } finally {
        await Promise.all(masters().map((m) => m.call('CLIENT', 'UNPAUSE')));
      }
      assert.equal(a.stats().commandErrors, errorsBefore + 1, 'the request timed out');
      assert.equal(answer, null, 'an unanswered lease request is not a lease: A must not probe');
      // When Redis runs A's late request, A hands the grant back; then exactly one other instance probes.
      let lease: ProbeLease | null = null;
      const until = Date.now() + 30_000;
      while (lease === null && Date.now() < until) {
        lease = await lb.acquireProbe();
        if (lease === null) await sleep(50);
      }
      assert.ok(lease !== null, 'B gets the slot A handed back');
      assert.equal(await redis.raw.exists(keyOf(PREFIX, name, 'probe:0')), 1);
      lease.release('neutral');
    });
  });
}
