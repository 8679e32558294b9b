// What each request path costs the assistant (issue 16): retrieval runs only when a rung uses the passages.
// Real pieces: a SQLite file with the bundled sermons, the real DocumentRepository search, the real
// LlmGateway around a real tripswitch breaker; the model client is a counting in-process client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakerRegistry } from 'tripswitch';
import { AnswerCache } from '../../src/adapters/cache/answer-cache.js';
import { DocumentRepository } from '../../src/adapters/db/documents.js';
import { ensureUsers } from '../../src/adapters/db/users.js';
import type { LlmClient, LlmRequest } from '../../src/adapters/llm/types.js';
import { seedCorpus } from '../../src/corpus/seed.js';
import { Assistant } from '../../src/domain/assistant.js';
import { LlmGateway, llmBreakerOptions } from '../../src/domain/llm-gateway.js';
import { tempDatabase } from '../db/tmp-db.js';

const USER = 'demo';
const QUESTION = 'What does forgiveness mean?';

function setup(t: Parameters<typeof tempDatabase>[0]) {
  const { db } = tempDatabase(t);
  ensureUsers(db, [{ token: 'tok-demo', user: USER }]);
  seedCorpus(db, USER);
  const documents = new DocumentRepository(db);
  const searches: string[] = [];
  const seen: LlmRequest[] = [];
  const client: LlmClient = {
    provider: 'sim',
    model: 'counting',
    async complete(req) {
      seen.push(req);
      return { text: `answer with ${req.passages.length} passages`, model: 'counting', provider: 'sim' };
    },
  };
  const breaker = new BreakerRegistry().get(
    'llm',
    llmBreakerOptions({ name: 'llm', failMax: 5, openMs: 30_000, failWindowMs: 60_000, timeoutMs: 5_000 }),
  );
  const assistant = new Assistant({
    llm: new LlmGateway(client, breaker, { maxConcurrent: 4 }),
    retrieve: (userId, query, limit) => {
      searches.push(query);
      return documents.searchPassages(userId, query, limit);
    },
    cache: new AnswerCache({ freshTtlMs: 60_000, staleTtlMs: 600_000, maxEntries: 100 }),
    defaultRetryAfterMs: 30_000,
    staleTtlMs: 600_000,
  });
  return { assistant, breaker, searches, seen };
}

test('model answer: one search, its passages go to the model and into the sources', async (t) => {
  const { assistant, searches, seen } = setup(t);
  const out = await assistant.answer(USER, { query: QUESTION, includeMetadata: false, fallback: ['cache'] });
  assert.equal(out.status, 200);
  assert.equal(searches.length, 1);
  assert.equal(seen.length, 1);
  const passages = seen[0]?.passages ?? [];
  assert.ok(passages.length > 0, 'the model gets context passages');
  const body = out.body as { sources: Array<{ excerpt: string }> };
  assert.deepEqual(
    body.sources.map((s) => s.excerpt),
    passages.map((p) => p.text),
  );
  // A fresh cache hit searches nothing.
  await assistant.answer(USER, { query: QUESTION, includeMetadata: false, fallback: [] });
  assert.equal(searches.length, 1);
});

test('circuit open: the 503 path never searches; the excerpts path searches once', async (t) => {
  const { assistant, breaker, searches, seen } = setup(t);
  breaker.isolate();
  const unavailable = await assistant.answer(USER, { query: QUESTION, includeMetadata: false, fallback: [] });
  assert.equal(unavailable.status, 503);
  const cacheOnly = await assistant.answer(USER, {
    query: QUESTION,
    includeMetadata: false,
    fallback: ['cache'],
  });
  assert.equal(cacheOnly.status, 503);
  assert.deepEqual(searches, [], 'no rung used passages, so none were retrieved');

  const excerpts = await assistant.answer(USER, {
    query: QUESTION,
    includeMetadata: false,
    fallback: ['excerpts'],
  });
  assert.equal(excerpts.status, 200);
  assert.equal(
    (excerpts.body as { metadata: { fallback_level: string } }).metadata.fallback_level,
    'excerpts',
  );
  assert.equal(searches.length, 1);
  assert.equal(seen.length, 0, 'the model was never called');

  // The circuit closes again: the next call retrieves for the model as before.
  breaker.reset();
  const answered = await assistant.answer(USER, { query: QUESTION, includeMetadata: false, fallback: [] });
  assert.equal(answered.status, 200);
  assert.ok((seen[0]?.passages.length ?? 0) > 0);
});
