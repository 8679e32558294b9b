// Documents: create, list, and a new document is at once searchable by the excerpts fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startService } from '../helpers/service.js';

test('POST /api/documents → 201 with an id; GET lists it; the excerpts fallback cites it', async (t) => {
  const svc = await startService({ env: { ASSISTANT_TOKENS: 'tok-a:alice' } });
  t.after(() => svc.close());

  const empty = await svc.request('GET', '/api/documents', { token: 'tok-a' });
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json.documents, [], 'only demo mode loads the sample corpus');

  const content =
    'Beekeeping teaches patience. The hive hums through the winter, and the honey comes in its season.';
  const created = await svc.request('POST', '/api/documents', {
    token: 'tok-a',
    body: { title: 'Lessons from the Hive', content },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(typeof created.json.id, 'string');
  assert.ok(created.json.id.length > 0);
  assert.equal(created.json.title, 'Lessons from the Hive');

  const second = await svc.request('POST', '/api/documents', {
    token: 'tok-a',
    body: { title: 'Orchard Sermon', content: 'Apple trees bear fruit only after years of care.' },
  });
  assert.equal(second.status, 201);
  assert.notEqual(second.json.id, created.json.id);

  const list = await svc.request('GET', '/api/documents', { token: 'tok-a' });
  assert.equal(list.status, 200);
  const ids = list.json.documents.map((d: { id: string }) => d.id).sort();
  assert.deepEqual(ids, [created.json.id, second.json.id].sort());
  const hive = list.json.documents.find((d: { id: string }) => d.id === created.json.id);
  assert.equal(hive.title, 'Lessons from the Hive');

  const page = await svc.request('GET', '/api/documents?limit=1', { token: 'tok-a' });
  assert.equal(page.status, 200);
  assert.equal(page.json.documents.length, 1);

  // With the provider down, the excerpts rung finds the new document.
  await svc.setMode({ mode: 'error' });
  const reply = await svc.query('tok-a', { query: 'What does the hive teach about patience?' });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.metadata.fallback_level, 'excerpts');
  assert.equal(reply.json.sources[0].document_id, created.json.id);
  assert.equal(reply.json.sources[0].title, 'Lessons from the Hive');
  assert.match(reply.json.sources[0].excerpt, /hive/i);
  assert.ok(reply.json.sources.every((s: { document_id: string }) => s.document_id !== second.json.id));

  // With the provider healthy, the model is given the new document as context and cites it.
  await svc.setMode({ mode: 'healthy' });
  svc.app.breaker.reset();
  const answered = await svc.query('tok-a', { query: 'When does the honey come?' });
  assert.equal(answered.status, 200, answered.text);
  assert.equal(answered.json.metadata.from_fallback, false);
  assert.equal(answered.json.sources[0]?.document_id, created.json.id);
});
