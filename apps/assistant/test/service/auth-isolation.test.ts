// Bearer tokens and per-user isolation: documents, excerpts, jobs and cached answers never cross users.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Service, startService, waitForJob } from '../helpers/service.js';

const ALICE = 'tok-a';
const BOB = 'tok-b';

describe('auth and isolation (ASSISTANT_TOKENS="tok-a:alice,tok-b:bob")', () => {
  let svc: Service;
  let aliceDoc: string;
  let bobDoc: string;

  before(async () => {
    svc = await startService({ env: { ASSISTANT_TOKENS: `${ALICE}:alice,${BOB}:bob` } });
    const a = await svc.request('POST', '/api/documents', {
      token: ALICE,
      body: {
        title: 'The Lighthouse Ledger',
        content: 'The lighthouse keeper wrote every ship in his ledger. The harbor lamp burned all night.',
      },
    });
    const b = await svc.request('POST', '/api/documents', {
      token: BOB,
      body: { title: 'Harbor Notes', content: 'The harbor was quiet; fishing boats rested at the pier.' },
    });
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    aliceDoc = a.json.id;
    bobDoc = b.json.id;
  });
  after(() => svc.close());
  // Each test starts from a healthy provider and a closed circuit.
  beforeEach(async () => {
    await svc.setMode({ mode: 'healthy' });
    svc.app.breaker.reset();
  });

  test('no token, a wrong token or another scheme → 401 on every API route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/api/assistant/query', { query: 'harbor' }],
      ['GET', '/api/assistant/jobs/job_x'],
      ['GET', '/api/documents'],
      ['POST', '/api/documents', { title: 't', content: 'c' }],
    ];
    const auths: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer tok-c' },
      { authorization: `Basic ${Buffer.from('alice:tok-a').toString('base64')}` },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${'x'.repeat(5000)}` },
    ];
    for (const [method, path, body] of routes) {
      for (const headers of auths) {
        const reply = await svc.request(method, path, { headers, body });
        assert.equal(reply.status, 401, `${method} ${path} ${JSON.stringify(headers).slice(0, 40)}`);
        assert.equal(reply.json.error, 'Unauthorized');
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    assert.equal(await svc.simRequests(), 0, 'unauthenticated calls never reach the model');
  });

  test('each user lists only their own documents', async () => {
    const a = await svc.request('GET', '/api/documents', { token: ALICE });
    const b = await svc.request('GET', '/api/documents', { token: BOB });
    assert.equal(a.status, 200);
    assert.deepEqual(
      a.json.documents.map((d: { id: string }) => d.id),
      [aliceDoc],
    );
    assert.deepEqual(
      b.json.documents.map((d: { id: string }) => d.id),
      [bobDoc],
    );
  });

  test("excerpts cite only the asker's documents", async () => {
    await svc.setMode({ mode: 'error' });
    const bob = await svc.query(BOB, { query: 'harbor fishing boats at the lighthouse' });
    assert.equal(bob.status, 200, bob.text);
    assert.equal(bob.json.metadata.fallback_level, 'excerpts');
    const cited = bob.json.sources.map((s: { document_id: string }) => s.document_id);
    assert.deepEqual(cited, [bobDoc]);
    assert.doesNotMatch(bob.text, /lighthouse keeper|Lighthouse Ledger/);

    // A question only Alice's document answers: Bob gets nothing of hers.
    const bobOnly = await svc.query(BOB, { query: 'lighthouse ledger keeper' });
    assert.equal(bobOnly.status, 503, bobOnly.text);
    assert.doesNotMatch(bobOnly.text, /Lighthouse/);

    const alice = await svc.query(ALICE, { query: 'lighthouse ledger keeper' });
    assert.equal(alice.json.metadata.fallback_level, 'excerpts');
    assert.deepEqual(
      alice.json.sources.map((s: { document_id: string }) => s.document_id),
      [aliceDoc],
    );
  });

  test("another user's job is a 404, the owner's is a 200", async () => {
    await svc.setMode({ mode: 'error' });
    const queued = await svc.query(ALICE, {
      query: 'What did the lighthouse keeper write in his ledger?',
      fallback: ['queue'],
    });
    assert.equal(queued.status, 202, queued.text);
    const path = `/api/assistant/jobs/${queued.json.job_id}`;
    const bob = await svc.request('GET', path, { token: BOB });
    assert.equal(bob.status, 404);
    assert.doesNotMatch(bob.text, /keeper/);
    const missing = await svc.request('GET', '/api/assistant/jobs/job_does_not_exist', { token: BOB });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, bob.json, 'a foreign job looks exactly like a missing one');
    const alice = await svc.request('GET', path, { token: ALICE });
    assert.equal(alice.status, 200);
    assert.equal(alice.json.job_id, queued.json.job_id);

    // Once answered, the job and its answer are still Alice's alone.
    await svc.setMode({ mode: 'healthy' });
    const done = await waitForJob(svc, ALICE, queued.json.job_id);
    assert.equal(done.status, 'done');
    assert.deepEqual(
      done.result.sources.map((s: { document_id: string }) => s.document_id),
      [aliceDoc],
    );
    const bobAfter = await svc.request('GET', path, { token: BOB });
    assert.equal(bobAfter.status, 404);
  });

  test('cached answers are per user', async () => {
    const question = 'What burned all night at the harbor?';
    const calls = await svc.simRequests();
    const alice = await svc.query(ALICE, { query: question });
    assert.equal(alice.status, 200, alice.text);
    assert.equal(alice.json.metadata.cached, false);
    assert.equal(await svc.simRequests(), calls + 1);

    const bob = await svc.query(BOB, { query: question });
    assert.equal(bob.status, 200, bob.text);
    assert.deepEqual(bob.json.metadata, { from_fallback: false, cached: false });
    assert.equal(
      await svc.simRequests(),
      calls + 2,
      "Bob's question went to the model, not to Alice's cache",
    );
    assert.ok(
      bob.json.sources.every((s: { document_id: string }) => s.document_id !== aliceDoc),
      'no source of Alice',
    );

    const aliceAgain = await svc.query(ALICE, { query: question });
    assert.equal(aliceAgain.json.metadata.cached, true);
    assert.equal(aliceAgain.json.answer, alice.json.answer);
    assert.equal(await svc.simRequests(), calls + 2);

    // With the model down, Bob still gets his own answer, never Alice's.
    await svc.setMode({ mode: 'error' });
    const bobDown = await svc.query(BOB, { query: question });
    assert.equal(bobDown.json.answer, bob.json.answer);
    assert.notEqual(bob.json.answer, alice.json.answer, 'answers differ because the documents differ');
  });
});
