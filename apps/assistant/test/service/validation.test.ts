// Invalid input is the client's fault: a readable 400 (413 for an oversized body) that neither reaches the
// model nor counts against the breaker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_TOKEN, startService } from '../helpers/service.js';

const INVALID: Array<[string, unknown]> = [
  ['missing query', {}],
  ['null query', { query: null }],
  ['object query', { query: { text: 'grace' } }],
  ['empty query', { query: '' }],
  ['whitespace-only query', { query: ' \n\t  ' }],
  ['100 KB query', { query: 'grace '.repeat(17_000) }],
  ['include_metadata not a boolean', { query: 'grace', include_metadata: 'yes' }],
  ['unknown fallback level', { query: 'grace', fallback: ['cache', 'telepathy'] }],
  ['duplicate fallback level', { query: 'grace', fallback: ['cache', 'cache'] }],
  ['extra field', { query: 'grace', temperature: 2 }],
  ['array body', [{ query: 'grace' }]],
  ['JSON null body', 'null'],
  ['bad JSON', '{"query": "grace"'],
];

test('invalid query bodies → 400 with a readable JSON error; no model call, no breaker failure', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  // Fail fast if one slipped through: with the provider failing, a call would count as a failure.
  await svc.setMode({ mode: 'error' });

  for (const [what, body] of INVALID) {
    const reply = await svc.query(DEMO_TOKEN, body);
    assert.equal(reply.status, 400, `${what}: ${reply.text.slice(0, 200)}`);
    assert.match(reply.headers.get('content-type') ?? '', /application\/json/, what);
    assert.equal(reply.json.error, 'Bad Request', what);
    assert.equal(typeof reply.json.message, 'string', what);
    assert.ok(reply.json.message.length > 0 && reply.json.message.length < 2000, what);
  }

  // A non-JSON content type is refused too.
  const text = await svc.request('POST', '/api/assistant/query', {
    token: DEMO_TOKEN,
    body: 'query=grace',
    headers: { 'content-type': 'text/plain' },
  });
  assert.ok(text.status === 400 || text.status === 415, `text/plain: ${text.status}`);

  const health = await svc.llmHealth();
  assert.equal(health.fail_count, 0);
  assert.equal(health.state, 'closed');
  assert.equal(await svc.simRequests(), 0);

  // The wiring is live: a valid query does reach the (failing) provider and counts.
  const valid = await svc.query(DEMO_TOKEN, { query: 'What is grace?' });
  assert.equal(valid.status, 200, valid.text);
  assert.equal(await svc.simRequests(), 1);
  assert.equal((await svc.llmHealth()).fail_count, 1);
});

test('a body over 1 MB → 413, no model call', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  const reply = await svc.query(DEMO_TOKEN, { query: 'x'.repeat(1024 * 1024 + 16) });
  assert.equal(reply.status, 413);
  assert.equal(typeof reply.json.message, 'string');
  const doc = await svc.request('POST', '/api/documents', {
    token: DEMO_TOKEN,
    body: { title: 'big', content: 'y'.repeat(1024 * 1024 + 16) },
  });
  assert.equal(doc.status, 413);
  assert.equal(await svc.simRequests(), 0);
  assert.equal((await svc.llmHealth()).fail_count, 0);
});

test('invalid documents → 400 and nothing stored', async (t) => {
  const svc = await startService({ env: { ASSISTANT_TOKENS: 'tok-a:alice' } });
  t.after(() => svc.close());
  const bad: unknown[] = [
    {},
    { title: 'only a title' },
    { title: '', content: 'text' },
    { title: '   ', content: 'text' },
    { title: 'ok', content: '' },
    { title: 'ok', content: 'text', author: 'me' },
    { title: 't'.repeat(301), content: 'text' },
  ];
  for (const body of bad) {
    const reply = await svc.request('POST', '/api/documents', { token: 'tok-a', body });
    assert.equal(reply.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${reply.text.slice(0, 200)}`);
    assert.equal(typeof reply.json.message, 'string');
  }
  const list = await svc.request('GET', '/api/documents', { token: 'tok-a' });
  assert.deepEqual(list.json.documents, []);
});
