import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import type { RedisStoreOptions } from 'tripswitch/redis';
import { skipWithoutRedis } from '../helpers/redis-server.js';
import { eventually, keyOf, sleep, TOPOLOGIES, uniqueName, useRedis } from './support.js';

const PREFIX = 'tst-breaker';
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../../..');

const fail = () => Promise.reject(new Error('provider down'));

for (const topology of TOPOLOGIES) {
  describe(`CircuitBreaker with RedisStore (${topology})`, { skip: skipWithoutRedis() }, () => {
    const redis = useRedis(PREFIX, {}, topology);
    const store = (options: Partial<RedisStoreOptions> = {}) => redis.store(options);

    test('a trip in one instance makes the other reject within a bounded time', async () => {
      const name = uniqueName('trip');
      const a = new CircuitBreaker({ name, failMax: 3, openDuration: 30_000, store: store() });
      const b = new CircuitBreaker({ name, failMax: 3, openDuration: 30_000, store: store() });
      await Promise.all(redis.stores.map((s) => s.refresh()));
      assert.equal(await b.execute(() => 'ok'), 'ok');
      for (let i = 0; i < 3; i++) await a.execute(fail).catch(() => {});
      assert.equal(a.state, 'open');
      const tripped = Date.now();
      await eventually('B is OPEN', () => b.state === 'open', 5_000);
      const seenAfter = Date.now() - tripped;
      await assert.rejects(
        b.execute(() => 'should not run'),
        CircuitOpenError,
      );
      assert.ok(b.retryAfter > 20_000, `B waits out A's open duration (retryAfter ${b.retryAfter})`);
      assert.ok(seenAfter < 5_000);
    });

    test('failures spread over instances trip the whole cluster (no instance reaches failMax alone)', async () => {
      const name = uniqueName('pooled');
      const breakers = [0, 1, 2].map(() => new CircuitBreaker({ name, failMax: 3, store: store() }));
      await Promise.all(redis.stores.map((s) => s.refresh()));
      for (const b of breakers) await b.execute(fail).catch(() => {});
      await eventually('every instance OPEN', () => breakers.every((b) => b.state === 'open'));
      for (const b of breakers)
        await assert.rejects(
          b.execute(() => 'no'),
          CircuitOpenError,
        );
    });

    test('a successful probe in one instance closes the circuit everywhere', async () => {
      const name = uniqueName('recovery');
      const a = new CircuitBreaker({ name, failMax: 2, openDuration: 200, store: store() });
      const b = new CircuitBreaker({ name, failMax: 2, openDuration: 200, store: store() });
      await Promise.all(redis.stores.map((s) => s.refresh()));
      for (let i = 0; i < 2; i++) await a.execute(fail).catch(() => {});
      await eventually('B OPEN', () => b.state === 'open');
      await sleep(250);
      assert.equal(await a.execute(() => 'probe ok'), 'probe ok');
      assert.equal(a.state, 'closed');
      await eventually('B CLOSED', () => b.state === 'closed');
      assert.equal(await b.execute(() => 'ok'), 'ok');
    });

    test('a probe stream longer than halfOpenTimeout and its lease closes the circuit everywhere', async () => {
      const name = uniqueName('stream-probe');
      const options = { name, failMax: 1, openDuration: 200, halfOpenTimeout: 400 };
      // leaseGrace 0: the lease is halfOpenTimeout long, so the stream below outlives two of them.
      const a = new CircuitBreaker({ ...options, store: store({ leaseGrace: 0 }) });
      const b = new CircuitBreaker({ ...options, store: store() });
      await Promise.all(redis.stores.map((s) => s.refresh()));
      await a.execute(fail).catch(() => {});
      await eventually('B OPEN', () => b.state === 'open');
      await sleep(250);
      let chunks = 0;
      let secondProbe: unknown;
      for await (const _ of a.stream(async function* () {
        for (let i = 0; i < 15; i++) {
          await sleep(60);
          yield i;
        }
      })) {
        chunks++;
        if (chunks === 12) {
          // ~720 ms into the probe: past its lease period twice; B must still find the lease held.
          secondProbe = await b.execute(() => 'second probe').catch((e: unknown) => e);
        }
      }
      assert.equal(chunks, 15);
      assert.ok(secondProbe instanceof CircuitOpenError, `B was not refused: ${String(secondProbe)}`);
      assert.equal(a.state, 'closed');
      assert.equal(a.stats().totals.timeouts, 0);
      await eventually('B CLOSED', () => b.state === 'closed');
    });

    test('one instance’s clock ten minutes ahead changes nothing', async () => {
      const name = uniqueName('skewed');
      const skewed = { now: () => Date.now() + 600_000 };
      const a = new CircuitBreaker({ name, failMax: 2, openDuration: 20_000, store: store(), clock: skewed });
      const b = new CircuitBreaker({ name, failMax: 2, openDuration: 20_000, store: store() });
      await Promise.all(redis.stores.map((s) => s.refresh()));
      for (let i = 0; i < 2; i++) await b.execute(fail).catch(() => {});
      await eventually('skewed instance OPEN', () => a.state === 'open');
      assert.ok(Math.abs(a.retryAfter - 20_000) < 2_000, `skewed instance waits 20 s too (${a.retryAfter})`);
      await assert.rejects(
        a.execute(() => 'no'),
        CircuitOpenError,
      );
      // The skewed instance trips the cluster: the others wait its 20 s, not 20 s minus ten minutes.
      b.close();
      await eventually('skewed instance CLOSED', () => a.state === 'closed');
      for (let i = 0; i < 2; i++) await a.execute(fail).catch(() => {});
      await eventually('normal instance OPEN', () => b.state === 'open');
      assert.ok(Math.abs(b.retryAfter - 20_000) < 2_000, `normal instance waits 20 s (${b.retryAfter})`);
    });

    test('4 processes × 250 concurrent calls in HALF-OPEN: exactly one probe runs', async () => {
      const name = uniqueName('multiproc');
      const parent = new CircuitBreaker({ name, openDuration: 1_500, store: store() });
      await Promise.all(redis.stores.map((s) => s.refresh()));
      parent.open();
      await eventually(
        'the cluster is OPEN',
        async () => (await redis.raw.hget(keyOf(PREFIX, name, 'state'), 'state')) === 'open',
      );
      const child = join(here, 'fixtures', 'probe-child.ts');
      const children = Array.from({ length: 4 }, () =>
        spawn(
          process.execPath,
          ['--conditions=tripswitch-source', '--import', 'tsx', child, redis.target, name, PREFIX],
          {
            cwd: repoRoot,
            stdio: ['pipe', 'pipe', 'inherit'],
          },
        ),
      );
      const lines = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
      const ready = await Promise.all(lines.map((it) => it.next()));
      assert.deepEqual(
        ready.map((r) => r.value),
        ['ready', 'ready', 'ready', 'ready'],
      );
      await eventually('probing time', () => parent.state === 'half-open', 10_000);
      for (const c of children) c.stdin!.write('go\n');
      const reports = (await Promise.all(lines.map((it) => it.next()))).map(
        (r) =>
          JSON.parse(String(r.value)) as {
            ran: number;
            rejected: number;
            total: number;
            store: string;
            degradations: number;
          },
      );
      await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
      const ran = reports.reduce((n, r) => n + r.ran, 0);
      const rejected = reports.reduce((n, r) => n + r.rejected, 0);
      // The premise: every child stayed connected (a degraded store probes on local state by design; the
      // children's commandTimeout makes a stall of this loaded machine no outage) and the lease could not
      // expire (it outlives the test's time limit). Then the cluster ran exactly one probe.
      assert.ok(
        reports.every((r) => r.store === 'connected' && r.degradations === 0),
        `no child degraded: ${JSON.stringify(reports)}`,
      );
      assert.equal(ran, 1, `exactly one probe in the cluster: ${JSON.stringify(reports)}`);
      assert.equal(rejected, 999);
      assert.equal(await redis.raw.get(`${PREFIX}:{${name}}:test-probes`), '1');
      // The probe failed: the cluster is OPEN again, for the children's 60 s.
      await eventually('parent follows the re-opened cluster', () => parent.retryAfter > 30_000);
      await redis.raw.del(`${PREFIX}:{${name}}:test-probes`);
    });
  });
}
