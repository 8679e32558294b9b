// The L2 answer cache in Redis follows the user's documents across instances (issue 11): two instances
// (each with its own SQLite file, the same documents) share answers while the documents are the same,
// and stop replaying them as soon as the documents change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  skipWithoutRedis,
  startRedisServer,
} from '../../../../packages/tripswitch/test/helpers/redis-server.js';
import { startSim } from '../../src/sim/server.js';
import { type Service, startService } from '../helpers/service.js';

const CAROL = 'tok-carol-0123456789';
const QUESTION = 'What does the Rule of Benedict say about hospitality?';
const DOCUMENT = {
  title: 'Notes on the Rule of Benedict',
  content: 'The Rule of Benedict asks that every guest be received as Christ himself, with hospitality.',
};

test('L2 answers are keyed by the documents they were built from, on every instance', {
  skip: skipWithoutRedis(),
}, async (t) => {
  const redis = await startRedisServer();
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const env = { REDIS_URL: redis.url, ASSISTANT_TOKENS: `${CAROL}:carol`, BREAKER_OPEN_MS: '60000' };
  const started: Service[] = [];
  t.after(async () => {
    for (const s of started) await s.close();
    await sim.close();
    await redis.stop();
  });
  const a = await startService({ sim, env });
  started.push(a);
  const b = await startService({ sim, env });
  started.push(b);

  // No documents anywhere: A's answer reaches L2, and B serves it while the model is down.
  const answered = await a.query(CAROL, { query: QUESTION });
  assert.equal(answered.status, 200, answered.text);
  assert.deepEqual(answered.json.sources, []);
  sim.setMode({ mode: 'error' });
  let fromL2: Awaited<ReturnType<Service['query']>> | undefined;
  for (let i = 0; i < 50 && fromL2?.json?.metadata?.fallback_level !== 'l2_cache'; i++) {
    fromL2 = await b.query(CAROL, { query: QUESTION }); // the L2 write is in the background
  }
  assert.equal(fromL2?.json.metadata.fallback_level, 'l2_cache', fromL2?.text);
  assert.equal(fromL2?.json.answer, answered.json.answer);

  // The same document is added on both instances: the "nothing found" answer is stale everywhere.
  for (const svc of [a, b]) {
    const added = await svc.request('POST', '/api/documents', { token: CAROL, body: DOCUMENT });
    assert.equal(added.status, 201, added.text);
  }
  for (const svc of [a, b]) {
    const reply = await svc.query(CAROL, { query: QUESTION });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.metadata.fallback_level, 'excerpts', reply.text);
    assert.equal(reply.json.sources[0].title, DOCUMENT.title);
  }

  // With the model back, A's new answer (built from the document) is shared with B again.
  sim.setMode({ mode: 'healthy' });
  a.app.breaker.close();
  b.app.breaker.close();
  const fresh = await a.query(CAROL, { query: QUESTION });
  assert.equal(fresh.json.metadata.cached, false);
  assert.equal(fresh.json.sources[0].title, DOCUMENT.title);
  sim.setMode({ mode: 'error' });
  let shared: Awaited<ReturnType<Service['query']>> | undefined;
  for (let i = 0; i < 50 && shared?.json?.metadata?.fallback_level !== 'l2_cache'; i++) {
    shared = await b.query(CAROL, { query: QUESTION });
  }
  assert.equal(shared?.json.answer, fresh.json.answer, shared?.text);
});
