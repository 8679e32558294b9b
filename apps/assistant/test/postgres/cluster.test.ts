// Three service instances on one DATABASE_URL (a fresh PostgreSQL database), without and with a shared
// Redis: a document posted on one is listed and searchable on the others, a job queued on one is answered
// exactly once by the cluster and readable from any, and users stay apart everywhere.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  type RedisServer,
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { type SimServer, startSim } from '../../src/sim/server.js';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from '../helpers/postgres.js';
import { eventually, type Service, startService, waitForJob } from '../helpers/service.js';

const ALICE = 'tok-alice-0123';
const BOB = 'tok-bob-456789';
const DOC = {
  title: 'On Lighthouses',
  content:
    'A lighthouse keeper trims the wick every evening. The lamp guides ships past the reef, ' +
    'and the keeper writes the weather in the logbook.',
};

const pgSkip = await skipWithoutPostgres();

for (const withRedis of [false, true]) {
  const name = withRedis ? 'DATABASE_URL + REDIS_URL' : 'DATABASE_URL only';
  const skip = pgSkip || (withRedis ? skipWithoutRedis() : false);
  describe(`three instances on one PostgreSQL (${name})`, { skip }, () => {
    let db: TestDatabase;
    let redis: RedisServer | undefined;
    let sim: SimServer;
    let nodes: Service[] = [];

    before(async () => {
      db = await createTestDatabase();
      if (withRedis) redis = await startRedisServer();
      sim = await startSim({ port: 0, host: '127.0.0.1' });
      const env: Record<string, string> = {
        DATABASE_URL: db.url,
        DATABASE_POOL_MAX: '4',
        ASSISTANT_TOKENS: `${ALICE}:alice,${BOB}:bob`,
        ...(redis ? { REDIS_URL: redis.url } : {}),
      };
      // Started together: migrations and users are applied once, under their advisory locks.
      nodes = await Promise.all([0, 1, 2].map(() => startService({ sim, env })));
    });
    after(async () => {
      await Promise.allSettled(nodes.map((n) => n.close()));
      await sim?.close();
      await redis?.stop();
      await db?.drop();
    });

    test('every instance is ready on PostgreSQL, and none created a SQLite file', async () => {
      for (const node of nodes) {
        const ready = await node.request('GET', '/health/ready');
        assert.equal(ready.status, 200, ready.text);
        assert.equal(ready.json.store, 'postgres');
        assert.equal(node.app.queue.kind, withRedis ? 'bullmq' : 'postgres');
        assert.equal(existsSync(node.databasePath), false, 'no SQLite file with DATABASE_URL');
      }
    });

    test('a document posted on one instance is listed and searched on the others, only for its owner', async () => {
      const [a, b, c] = nodes as [Service, Service, Service];
      const posted = await a.request('POST', '/api/documents', { token: ALICE, body: DOC });
      assert.equal(posted.status, 201, posted.text);
      const id: string = posted.json.id;
      for (const node of [b, c]) {
        const listed = await node.request('GET', '/api/documents', { token: ALICE });
        assert.ok(
          listed.json.documents.some((d: { id: string }) => d.id === id),
          listed.text,
        );
        const mine = await node.request('GET', '/api/documents', { token: BOB });
        assert.ok(
          mine.json.documents.every((d: { id: string }) => d.id !== id),
          'bob does not see it',
        );
      }
      // The model's context (and the cited sources) on C come from the document posted on A.
      const answer = await c.query(ALICE, { query: 'What does the lighthouse keeper trim?' });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.sources[0]?.document_id, id, answer.text);
      // Excerpts while the model is down, on B: the same document.
      await b.app.breaker.isolate();
      try {
        const excerpts = await b.query(ALICE, { query: 'Which reef does the lamp guide ships past?' });
        assert.equal(excerpts.status, 200, excerpts.text);
        assert.equal(excerpts.json.metadata.fallback_level, 'excerpts');
        assert.equal(excerpts.json.sources[0]?.document_id, id);
        const other = await b.query(BOB, { query: 'Which reef does the lamp guide ships past?' });
        assert.ok(
          other.json?.sources === undefined ||
            other.json.sources.every((s: { document_id: string }) => s.document_id !== id),
          'bob never gets alice’s excerpts',
        );
      } finally {
        await b.app.breaker.close();
      }
    });

    test('jobs queued on one instance are answered once each by the cluster and readable from any', async () => {
      const [a, b, c] = nodes as [Service, Service, Service];
      // Hold every worker off while the jobs are queued: A's circuit (shared with Redis) is open, and the
      // other instances' workers would otherwise answer at once — which is fine, but we count calls here.
      for (const node of nodes) await node.app.breaker.isolate();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const reply = await a.query(i % 2 ? BOB : ALICE, {
          query: `Unmatched question number ${i} about zebras`,
          fallback: ['queue'],
        });
        assert.equal(reply.status, 202, reply.text);
        ids.push(reply.json.job_id);
      }
      const before = sim.stats().requests;
      for (const node of nodes) await node.app.breaker.close();
      for (const [i, id] of ids.entries()) {
        const token = i % 2 ? BOB : ALICE;
        const reader = nodes[i % 3] as Service;
        const done = await waitForJob(reader, token, id, 60_000);
        assert.equal(done.status, 'done', JSON.stringify(done));
        assert.equal(done.result.metadata.job_id, id);
        // Readable from every instance, by its owner only.
        for (const node of [b, c]) {
          const seen = await node.request('GET', `/api/assistant/jobs/${id}`, { token });
          assert.equal(seen.json.status, 'done');
          const stranger = await node.request('GET', `/api/assistant/jobs/${id}`, {
            token: i % 2 ? ALICE : BOB,
          });
          assert.equal(stranger.status, 404);
        }
      }
      // Each job reached the model exactly once across the three workers.
      await eventually(() => (sim.stats().requests - before >= ids.length ? true : undefined), 'calls');
      assert.equal(sim.stats().requests - before, ids.length);
    });
  });
}
