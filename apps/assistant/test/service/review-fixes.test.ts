// Regression tests for service defects found in review; each failed before its fix.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobRepository } from '../../src/adapters/db/jobs.js';
import { normalizeQuery } from '../../src/domain/query-key.js';
import { DEMO_TOKEN, eventually, type Service, sqliteDb, startService } from '../helpers/service.js';

describe('service review fixes', () => {
  let svc: Service;
  before(async () => {
    svc = await startService({ env: { LLM_TIMEOUT_MS: '5000', BREAKER_OPEN_MS: '60000' } });
  });
  after(() => svc.close());

  test('a client that disconnects cancels its model call: neither success nor failure', async () => {
    await svc.setMode({ mode: 'slow', latency_ms: 1500 });
    const controller = new AbortController();
    const pending = fetch(`${svc.baseUrl}/api/assistant/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'What does the mustard seed teach about faith?' }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    await eventually(
      async () => ((await svc.simRequests()) >= 1 ? true : undefined),
      'the model call is in flight',
    );
    controller.abort();
    assert.equal(await pending, 'aborted');
    await eventually(
      () => (svc.app.breaker.stats().totals.ignored === 1 ? true : undefined),
      'the breaker records the call as ignored',
    );
    const totals = svc.app.breaker.stats().totals;
    assert.equal(totals.failures, 0);
    assert.equal(totals.successes, 0);
    await svc.setMode({ mode: 'healthy' });
  });

  test('no token: 401 before the body is parsed or validated (no schema details leak)', async () => {
    const reply = await svc.request('POST', '/api/documents', { body: { title: 1, content: [] } });
    assert.equal(reply.status, 401);
    const noToken = await svc.request('POST', '/api/assistant/query', { body: '{not json' });
    assert.equal(noToken.status, 401);
  });

  test('the worker gives a job back without using an attempt when the breaker refuses the call', async () => {
    const local = await startService({ env: { LLM_TIMEOUT_MS: '5000', BREAKER_OPEN_MS: '300' } });
    try {
      const { breaker } = local.app;
      const db = sqliteDb(local.app);
      const repo = new JobRepository(db);
      breaker.open();
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(breaker.state, 'half-open');
      const probe = await breaker.acquirePermit(); // someone else's probe holds the only slot
      const queued = await local.query(DEMO_TOKEN, { query: 'zzz unmatched question', fallback: ['queue'] });
      assert.equal(queued.status, 202, queued.text);
      const id: string = queued.json.job_id;
      await new Promise((r) => setTimeout(r, 1500)); // the worker claims, is refused, gives the job back
      const job = repo.getJob('demo', id);
      assert.ok(job);
      assert.equal(job.status, 'queued');
      assert.equal(job.attempts, 0, 'refusals by the breaker cost no attempt');
      probe.success(); // the provider is back: the circuit closes and the worker answers the job
      await eventually(
        () => (repo.getJob('demo', id)?.status === 'done' ? true : undefined),
        'job done',
        20_000,
      );
    } finally {
      await local.close();
    }
  });
});

test('cache keys ignore case and sentence punctuation but keep meaningful symbols', () => {
  assert.equal(normalizeQuery('  What is GRACE? '), normalizeQuery('what is grace'));
  assert.notEqual(normalizeQuery('what is 2+2'), normalizeQuery('what is 2-2'));
  assert.notEqual(normalizeQuery('C++ or C#'), normalizeQuery('C or C'));
});
