// DESIGN 3.3, "one definition of a string's length, code points, everywhere": every place the service cuts
// or measures text counts code points and never splits a surrogate pair, so nothing it sends — an answer,
// an excerpt, a stream token, a prompt, an admin view of upstream text, a log line — carries a lone
// surrogate (invalid UTF-8; strict JSON parsers reject it, others show U+FFFD). Each case goes through the
// real service on loopback with astral-plane text placed so that a cut by UTF-16 units lands inside a pair.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogCapture } from '../helpers/hostile.js';
import { createTestDatabase, skipWithoutPostgres } from '../helpers/postgres.js';
import { hasLoneSurrogate, startScriptedUpstream } from '../helpers/scripted-upstream.js';
import { type Service, startService } from '../helpers/service.js';

const TOKEN = 'tok-unicode-5d1e8a7c3b';
const ADMIN = 'adm-unicode-0f9e8d7c6b';
const USERS = { ASSISTANT_TOKENS: `${TOKEN}:emo` };

function codePoints(text: string): number {
  return [...text].length;
}

async function addDocument(svc: Service, title: string, content: string): Promise<void> {
  const reply = await svc.request('POST', '/api/documents', { token: TOKEN, body: { title, content } });
  assert.equal(reply.status, 201, reply.text);
}

test('the sim quoting a long astral sentence cuts it between code points (answer and sources well-formed)', async (t) => {
  const svc = await startService({ env: USERS });
  t.after(() => svc.close());
  // 13 UTF-16 units before the emoji: the sim's 300-character sentence cap falls inside a pair when it
  // counts units.
  await addDocument(svc, 'Emoji sermon', `Grace abound ${'😀'.repeat(400)} amen.`);
  const reply = await svc.query(TOKEN, { query: 'grace' });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.metadata.from_fallback, false, reply.text);
  assert.match(reply.json.answer, /Grace abound 😀/);
  assert.equal(hasLoneSurrogate(reply.json), false, `lone surrogate in ${reply.text.slice(0, 200)}`);
});

test('passages are measured in code points: an astral paragraph under 600 code points stays one excerpt', async (t) => {
  const svc = await startService({ env: USERS });
  t.after(() => svc.close());
  // 506 code points, 756 UTF-16 units: one passage by the contract (at most 600 characters each).
  const paragraph = `grace ${'😀 '.repeat(250)}`.trim();
  await addDocument(svc, 'Astral', paragraph);
  const reply = await svc.query(TOKEN, { query: 'grace' });
  assert.equal(reply.status, 200, reply.text);
  const excerpt: string = reply.json.sources[0].excerpt;
  assert.equal(codePoints(excerpt), codePoints(paragraph), `excerpt of ${codePoints(excerpt)} code points`);
  assert.equal(excerpt, paragraph);
});

test('streamed tokens that split a surrogate pair reach the client whole', async (t) => {
  const upstream = await startScriptedUpstream({ chunks: ['Grace ', '\ud83d', '\ude00 and ', 'peace 😀'] });
  t.after(() => upstream.close());
  const svc = await startService({
    env: { ...USERS, LLM_PROVIDER: 'openai', LLM_BASE_URL: upstream.url, LLM_MODEL: 'scripted' },
  });
  t.after(() => svc.close());
  const reply = await svc.query(TOKEN, { query: 'grace', stream: true });
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^text\/event-stream/);
  const tokens: string[] = [];
  let done: { answer: string } | undefined;
  for (const frame of reply.text.split('\n\n')) {
    const event = /^event: (\w+)$/m.exec(frame)?.[1];
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (event === 'token') tokens.push(JSON.parse(data!).text);
    if (event === 'done') done = JSON.parse(data!);
  }
  for (const text of tokens) assert.equal(hasLoneSurrogate(text), false, `token ${JSON.stringify(text)}`);
  assert.ok(
    tokens.every((x) => x !== ''),
    'no empty token events',
  );
  assert.equal(tokens.join(''), 'Grace 😀 and peace 😀');
  assert.equal(done?.answer, 'Grace 😀 and peace 😀');
});

test('upstream error text full of emoji: the admin view and the log lines carry whole code points', async (t) => {
  // 'x' first: a 200-unit cut of the detail falls inside the 100th emoji.
  const upstream = await startScriptedUpstream({ status: 502, errorMessage: `x${'😀'.repeat(600)}` });
  t.after(() => upstream.close());
  const logs = new LogCapture();
  const svc = await startService({
    env: {
      ...USERS,
      ADMIN_TOKEN: ADMIN,
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: upstream.url,
      LLM_MODEL: 'scripted',
      LOG_LEVEL: 'info',
    },
    logStream: logs,
  });
  t.after(() => svc.close());
  const reply = await svc.query(TOKEN, { query: 'grace' });
  assert.ok(reply.status === 200 || reply.status === 503, reply.text);
  assert.equal(reply.json.metadata?.from_fallback ?? true, true);
  const admin = await svc.request('GET', '/dashboard/api/breakers', { token: ADMIN });
  assert.equal(admin.status, 200, admin.text);
  const llm = admin.json.breakers.find((b: { name: string }) => b.name === 'llm');
  const message: string = llm.last_failure.message;
  assert.match(message, /HTTP 502/);
  assert.match(message, /x😀😀/);
  assert.equal(hasLoneSurrogate(message), false, `lone surrogate in ${JSON.stringify(message.slice(-20))}`);
  const lines = logs.entries();
  assert.ok(
    lines.some((l) => JSON.stringify(l).includes('x😀😀')),
    'the upstream text is logged',
  );
  for (const line of lines) assert.equal(hasLoneSurrogate(line), false, JSON.stringify(line).slice(0, 300));
});

test('lone surrogates in a request are a 400 naming the field, never stored or sent upstream', async (t) => {
  const upstream = await startScriptedUpstream({ strict: true });
  t.after(() => upstream.close());
  const svc = await startService({
    env: { ...USERS, LLM_PROVIDER: 'openai', LLM_BASE_URL: upstream.url, LLM_MODEL: 'scripted' },
  });
  t.after(() => svc.close());
  const cases: Array<[string, string, string, string]> = [
    ['query', '/api/assistant/query', '{"query":"grace \\ud83d"}', 'query'],
    ['title', '/api/documents', '{"title":"t\\ude00","content":"c"}', 'title'],
    ['content', '/api/documents', '{"title":"t","content":"\\ud83d\\ud83d grace"}', 'content'],
  ];
  for (const [what, path, body, field] of cases) {
    const reply = await svc.request('POST', path, { token: TOKEN, body });
    assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.text}`);
    assert.match(reply.json.message, new RegExp(field), reply.text);
    assert.match(reply.json.message, /surrogate/, reply.text);
  }
  // A well-formed pair written as escapes is fine.
  const ok = await svc.query(TOKEN, { query: 'grace \ud83d\ude00' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(upstream.refused, 0, 'nothing malformed reached the provider');
  assert.equal((await svc.request('GET', '/api/documents', { token: TOKEN })).json.documents.length, 0);
});

test('PostgreSQL excerpts are clipped between code points, so a strict provider accepts the prompt', {
  skip: await skipWithoutPostgres(),
}, async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const upstream = await startScriptedUpstream({ strict: true, answer: 'Grace is enough.' });
  t.after(() => upstream.close());
  const svc = await startService({
    env: {
      ...USERS,
      DATABASE_URL: db.url,
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: upstream.url,
      LLM_MODEL: 'scripted',
    },
  });
  t.after(() => svc.close());
  // ts_headline returns ~660 code points starting "grace 😀…": a 599-unit cut lands inside a pair.
  await addDocument(svc, 'Astral', `grace ${'😀'.repeat(400)} amen ${'word '.repeat(50)}`);
  const reply = await svc.query(TOKEN, { query: 'grace' });
  assert.equal(reply.status, 200, reply.text);
  const excerpt: string = reply.json.sources[0].excerpt;
  assert.equal(
    hasLoneSurrogate(excerpt),
    false,
    `excerpt ends ${JSON.stringify(excerpt.slice(-4))}; provider refused ${upstream.refused}; metadata ${JSON.stringify(reply.json.metadata)}`,
  );
  assert.ok(codePoints(excerpt) <= 600, `${codePoints(excerpt)} code points`);
  assert.ok(codePoints(excerpt) > 300, `clipped in code points, not units: ${codePoints(excerpt)}`);
  assert.equal(upstream.refused, 0, 'the provider never saw a lone surrogate');
  assert.equal(reply.json.metadata.from_fallback, false, reply.text);
  assert.equal(reply.json.answer, 'Grace is enough.');
});
