// PostgreSQL lost while the service runs (a TCP proxy in front of the real server is cut): readiness
// says 503, the ladder keeps answering what it can without the database (cached answers), everything
// else is a 503 with Retry-After — never a 500 — and when the database is back the service recovers
// without a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createTestDatabase,
  POSTGRES_ADMIN_URL,
  skipWithoutPostgres,
  type TestDatabase,
} from '../helpers/postgres.js';
import { eventually, type Service, startService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const ALICE = 'tok-alice-0123';
const QUESTION = 'What does the lighthouse keeper trim?';

describe('PostgreSQL lost and back (DATABASE_URL)', { skip: await skipWithoutPostgres() }, () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let svc: Service;

  before(async () => {
    db = await createTestDatabase();
    const target = new URL(POSTGRES_ADMIN_URL);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    svc = await startService({
      env: {
        DATABASE_URL: url.toString(),
        DATABASE_POOL_MAX: '3',
        ASSISTANT_TOKENS: `${ALICE}:alice`,
        // Every question goes down the ladder (no fresh hits), so the degraded path is what is tested.
        CACHE_TTL_MS: '0',
      },
    });
  });
  after(async () => {
    await svc?.close();
    await proxy?.close();
    await db?.drop();
  });

  test('readiness 503 and cached answers while it is away; recovery without a restart', async () => {
    const posted = await svc.request('POST', '/api/documents', {
      token: ALICE,
      body: { title: 'Lighthouse', content: 'The keeper trims the wick of the lamp every evening.' },
    });
    assert.equal(posted.status, 201, posted.text);
    const first = await svc.query(ALICE, { query: QUESTION });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.metadata.from_fallback, false);

    await proxy.cut();
    await eventually(
      async () => ((await svc.request('GET', '/health/ready')).status === 503 ? true : undefined),
      'readiness to report the lost database',
    );
    assert.equal((await svc.request('GET', '/health/live')).status, 200);

    // The ladder answers from the last good answer; the model is not asked without the user's documents.
    const calls = svc.sim.stats().requests;
    const cached = await svc.query(ALICE, { query: QUESTION });
    assert.equal(cached.status, 200, cached.text);
    assert.equal(cached.json.answer, first.json.answer);
    assert.equal(cached.json.metadata.fallback_level, 'l1_cache');
    assert.equal(cached.json.metadata.fallback_reason, 'database_unavailable');
    assert.equal(svc.sim.stats().requests, calls, 'no ungrounded model call');

    // What needs the database says so with 503 + Retry-After, never 500.
    const unknown = await svc.query(ALICE, { query: 'A question never asked before?' });
    assert.equal(unknown.status, 503, unknown.text);
    assert.ok(unknown.headers.get('retry-after'));
    const write = await svc.request('POST', '/api/documents', {
      token: ALICE,
      body: { title: 't', content: 'c' },
    });
    assert.equal(write.status, 503, write.text);
    assert.ok(write.headers.get('retry-after'));
    assert.doesNotMatch(write.text, /ECONNREFUSED|127\.0\.0\.1|postgres/i, 'no connection details leak');
    const list = await svc.request('GET', '/api/documents', { token: ALICE });
    assert.equal(list.status, 503, list.text);

    await proxy.restore();
    await eventually(
      async () => ((await svc.request('GET', '/health/ready')).status === 200 ? true : undefined),
      'readiness to recover',
      20_000,
    );
    const again = await svc.request('POST', '/api/documents', {
      token: ALICE,
      body: { title: 'Harbour', content: 'Boats wait in the harbour for the tide.' },
    });
    assert.equal(again.status, 201, again.text);
    const fresh = await svc.query(ALICE, { query: 'Why do boats wait in the harbour?' });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.metadata.from_fallback, false);
  });
});
