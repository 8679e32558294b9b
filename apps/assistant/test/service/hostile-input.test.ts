// DESIGN 3.3, the service under hostile input: each fault class of issue 10 as a test against the real
// server on loopback (token guessing, slow bodies, dashboard stream floods, secrets in upstream text and
// query strings, astral-plane text at boundary lengths, hardening headers).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { DOCUMENT_LIMITS } from '../../src/adapters/db/documents.js';
import { MAX_QUERY_CHARS } from '../../src/routes/assistant.js';
import {
  astral,
  closedPort,
  dribble,
  getFrom,
  LogCapture,
  slowBody,
  slowHeaders,
  startEchoService,
} from '../helpers/hostile.js';
import { DEMO_TOKEN, eventually, send, startService } from '../helpers/service.js';

const ALICE = 'tok-alice-7f3e9a1c5b';
const API_KEY = 'sk-live-9XyZ8wVu7tSr6qPo5nMl';
const ADMIN = 'adm-5e6f7a8b9c0d1e2f';

test('1. requests with a wrong or missing token spend the address allowance before any route answers 401', async (t) => {
  const svc = await startService({ env: { RATE_LIMIT_PER_MINUTE: '5', ASSISTANT_TOKENS: `${ALICE}:alice` } });
  t.after(() => svc.close());

  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    statuses.push((await svc.request('GET', '/api/documents', { token: `made-up-token-${i}` })).status);
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);

  // Every route, every way of failing auth: the same address is throttled.
  const guesses = [
    () => svc.query('another-guess', { query: 'hello' }),
    () => svc.query(undefined, { query: 'hello' }),
    () =>
      svc.request('GET', '/api/assistant/jobs/job_1', { headers: { authorization: 'Basic YWxpY2U6eA==' } }),
    () => svc.request('POST', '/dashboard/api/breakers/llm/reset', { token: 'guess' }),
    () => svc.request('GET', '/no/such/route', { token: 'guess' }),
  ];
  for (const guess of guesses) {
    const reply = await guess();
    assert.equal(reply.status, 429, reply.text);
    assert.ok(Number(reply.headers.get('retry-after')) > 0);
  }

  // A valid user spends their own allowance, not the address's.
  const own = await svc.request('GET', '/api/documents', { token: ALICE });
  assert.equal(own.status, 200, own.text);
  // Health and metrics stay reachable for monitors.
  assert.equal((await svc.request('GET', '/health/live')).status, 200);
  assert.equal((await svc.request('GET', '/metrics')).status, 200);
});

test('1b. an address already limited elsewhere gets 429, not 401, on /api/documents', async (t) => {
  const svc = await startService({ env: { RATE_LIMIT_PER_MINUTE: '3', ASSISTANT_TOKENS: `${ALICE}:alice` } });
  t.after(() => svc.close());
  for (let i = 0; i < 3; i++) await svc.request('GET', '/dashboard');
  assert.equal((await svc.request('GET', '/dashboard')).status, 429);
  assert.equal((await svc.request('GET', '/api/documents', { token: 'made-up' })).status, 429);
});

test('2. a client dribbling its body or headers, or sitting idle, loses the socket; a connection cap holds', async (t) => {
  const svc = await startService({
    env: {
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_IDLE_TIMEOUT_MS: '3000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
    },
  });
  t.after(() => svc.close());
  const { host } = new URL(svc.baseUrl);

  // The issue's case: Content-Length 4000, then one byte every 200 ms (it would take 800 s to finish).
  const body = await slowBody(svc.baseUrl, '/api/documents', DEMO_TOKEN);
  assert.ok(body.bytesSent < 4000, `sent ${body.bytesSent} bytes`);
  assert.match(body.response, /^(HTTP\/1\.1 408|$)/, body.response.slice(0, 200));

  // Headers that never end.
  const head = await slowHeaders(svc.baseUrl);
  assert.match(head.response, /^(HTTP\/1\.1 408|$)/, head.response.slice(0, 200));

  // A connection that says nothing at all is closed too.
  const silent = await dribble(svc.baseUrl, '', 0, 1000, 30_000);
  assert.equal(silent.bytesSent, 0);

  // An idle keep-alive connection after a complete request is closed by the keep-alive timeout.
  const idle = await dribble(
    svc.baseUrl,
    `GET /health/live HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    0,
    1000,
    30_000,
  );
  assert.match(idle.response, /^HTTP\/1\.1 200/);

  // The service still serves afterwards.
  assert.equal((await svc.request('GET', '/health/live')).status, 200);
});

test('2b. HTTP_MAX_CONNECTIONS refuses connections beyond the cap', async (t) => {
  const svc = await startService({ env: { HTTP_MAX_CONNECTIONS: '2' } });
  t.after(() => svc.close());
  const { hostname, port } = new URL(svc.baseUrl);
  const held = [connect(Number(port), hostname), connect(Number(port), hostname)];
  t.after(() => {
    for (const s of held) s.destroy();
  });
  await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
  // The third connection is accepted by the kernel and dropped by Node without an answer.
  const third = await dribble(
    svc.baseUrl,
    `GET /health/live HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`,
    0,
    1000,
    30_000,
  );
  assert.equal(third.response, '');
  for (const s of held) s.destroy();
  await eventually(async () => {
    const reply = await send(`${svc.baseUrl}/health/live`, 'GET').catch(() => undefined);
    return reply?.status === 200 ? true : undefined;
  }, 'a free slot');
});

test('3. one client address cannot take every dashboard stream', async (t) => {
  const svc = await startService({
    env: { DASHBOARD_MAX_STREAMS: '5', DASHBOARD_MAX_STREAMS_PER_CLIENT: '2' },
  });
  t.after(() => svc.close());
  const open: import('node:http').IncomingMessage[] = [];
  t.after(() => {
    for (const res of open) res.destroy();
  });
  for (let i = 0; i < 2; i++) {
    const res = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.1');
    open.push(res);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  const flood = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.1');
  flood.resume();
  assert.equal(flood.statusCode, 429);
  // Another viewer still gets a stream.
  const other = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.2');
  open.push(other);
  assert.equal(other.statusCode, 200);
  // Closing a stream frees the address's slot.
  open[0]?.destroy();
  await eventually(async () => {
    const res = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.1');
    if (res.statusCode === 200) {
      open.push(res);
      return true;
    }
    res.resume();
    return undefined;
  }, 'the slot to be freed');
});

test('4. secrets in upstream error text reach neither the public views nor any log line', async (t) => {
  const { svc, upstream, logs } = await startEchoService(t, API_KEY, {
    ADMIN_TOKEN: ADMIN,
    BREAKER_FAIL_MAX: '100',
  });

  const answer = await svc.query(DEMO_TOKEN, { query: 'What is grace?' });
  assert.equal(answer.status, 200, answer.text);
  assert.ok(upstream.requests >= 1);
  const health = await svc.request('GET', '/health/circuit-breakers');
  assert.equal(health.json.llm.last_error_kind, 'server_error');
  assert.equal('last_error' in health.json.llm, false);
  const stream = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.1');
  const first = await new Promise<string>((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      text += d;
      if (text.includes('event: snapshot')) {
        stream.destroy();
        resolve(text);
      }
    });
  });
  assert.match(first, /"lastErrorKind":"server_error"/);

  // The admin API has the detail, scrubbed.
  const detail = await svc.request('GET', '/dashboard/api/breakers', { token: ADMIN });
  assert.equal(detail.status, 200, detail.text);
  const llm = detail.json.breakers.find((b: { name: string }) => b.name === 'llm');
  assert.equal(llm.last_failure.kind, 'server_error');
  assert.match(llm.last_failure.message, /\[redacted\]/);
  assert.equal(detail.headers.get('cache-control'), 'no-store');

  // A token in a query string is logged without its value.
  await svc.request('POST', `/dashboard/api/breakers/llm/close?token=${ADMIN}&x=1`, { token: 'nope' });
  await svc.request('GET', `/health/live?api_key=${API_KEY}`);

  const metrics = await svc.metricsText();
  const publicText = [health.text, first, metrics, answer.text, detail.text].join('\n');
  const logText = logs.text();
  const upstreamHost = new URL(upstream.url).host;
  for (const [where, text] of [
    ['public views', publicText],
    ['logs', logText],
  ] as const) {
    for (const secret of [API_KEY, ADMIN, '9XyZ8wVu7tSr6qPo5nMl']) {
      assert.equal(text.includes(secret), false, `${where} contain ${secret}`);
    }
  }
  assert.equal(health.text.includes(upstreamHost), false, 'health names the upstream');
  assert.equal(first.includes(upstreamHost), false, 'dashboard stream names the upstream');
  assert.match(logText, /token=\[redacted\]&x=\[redacted\]/);
  // The failure was logged, with its class and classification.
  assert.ok(
    logs.entries().some((e) => e.msg === 'circuit llm: call failed' && e.error.name === 'HttpStatusError'),
    'failure log line',
  );
});

test('4b. an unreachable provider is logged with class, message and cause chain; recovery at info', async (t) => {
  const port = await closedPort();
  const logs = new LogCapture();
  const svc = await startService({
    env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: `http://127.0.0.1:${port}/v1`, LOG_LEVEL: 'info' },
    logStream: logs,
  });
  t.after(() => svc.close());
  await svc.query(DEMO_TOKEN, { query: 'What is grace?' });
  const failure = logs.entries().find((e) => e.msg === 'circuit llm: call failed');
  assert.ok(failure, logs.text());
  assert.equal(failure.error.name, 'TypeError');
  assert.equal(failure.error.message, 'fetch failed');
  const cause = JSON.stringify(failure.error.cause);
  assert.match(cause, /ECONNREFUSED/);
  assert.match(cause, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.equal(JSON.stringify(failure).includes('"type":"Object"'), false);

  // Recovery: open the circuit, let it close again through a probe; half-open -> closed is info.
  svc.app.breaker.open();
  svc.app.breaker.close();
  const recovery = logs.entries().find((e) => / -> closed$/.test(e.msg));
  assert.ok(recovery, logs.text());
  assert.equal(recovery.level, 30);
  const opening = logs.entries().find((e) => / -> open$/.test(e.msg));
  assert.equal(opening?.level, 40);
});

test('one log line per completed request; health and metrics polls only at debug', async (t) => {
  const info = new LogCapture();
  const svc = await startService({ env: { LOG_LEVEL: 'info' }, logStream: info });
  t.after(() => svc.close());
  await svc.request('GET', '/api/documents?limit=5', { token: DEMO_TOKEN });
  await svc.request('GET', '/health/circuit-breakers');
  await svc.request('GET', '/metrics');
  await eventually(() => (info.lines.length > 0 ? true : undefined), 'a log line');
  const requestLines = info.entries().filter((e) => e.req !== undefined);
  assert.equal(requestLines.length, 1, info.text());
  assert.equal(requestLines[0].msg, 'request completed');
  assert.equal(requestLines[0].res.statusCode, 200);
  assert.equal(requestLines[0].req.url, '/api/documents?limit=[redacted]');

  const debug = new LogCapture();
  const svc2 = await startService({ env: { LOG_LEVEL: 'debug' }, logStream: debug });
  t.after(() => svc2.close());
  await svc2.request('GET', '/health/live');
  await eventually(
    () => debug.entries().find((e) => e.req?.url === '/health/live'),
    'the poll at debug',
  ).then((line) => assert.equal(line.level, 20));
});

test('5. astral-plane text at every string field: the boundary succeeds, one past it is a 4xx, never a 500', async (t) => {
  const svc = await startService({ env: { ADMIN_TOKEN: ADMIN } });
  t.after(() => svc.close());

  // The issue's case: 151 emoji in a title (302 UTF-16 units, under the 300-code-point limit).
  const issue = await svc.request('POST', '/api/documents', {
    token: DEMO_TOKEN,
    body: { title: astral(151), content: 'grace' },
  });
  assert.equal(issue.status, 201, issue.text);

  const fields: Array<[string, (n: number) => Promise<{ status: number; text: string }>, number, number[]]> =
    [
      [
        'document title',
        (n) =>
          svc.request('POST', '/api/documents', {
            token: DEMO_TOKEN,
            body: { title: astral(n), content: 'x' },
          }),
        DOCUMENT_LIMITS.titleMaxChars,
        [201],
      ],
      [
        'document content',
        (n) =>
          svc.request('POST', '/api/documents', {
            token: DEMO_TOKEN,
            body: { title: 't', content: astral(n, '𝔊') },
          }),
        DOCUMENT_LIMITS.contentMaxChars,
        [201],
      ],
      ['query', (n) => svc.query(DEMO_TOKEN, { query: astral(n, '𓂀') }), MAX_QUERY_CHARS, [200]],
      [
        'job id',
        (n) =>
          svc.request('GET', `/api/assistant/jobs/${encodeURIComponent(astral(n))}`, { token: DEMO_TOKEN }),
        100,
        [404],
      ],
      [
        'breaker name',
        (n) =>
          svc.request('POST', `/dashboard/api/breakers/${encodeURIComponent(astral(n))}/reset`, {
            token: ADMIN,
          }),
        200,
        [404],
      ],
    ];
  for (const [what, call, max, ok] of fields) {
    const at = await call(max);
    assert.ok(ok.includes(at.status), `${what} at ${max} code points: ${at.status} ${at.text.slice(0, 200)}`);
    const past = await call(max + 1);
    assert.ok(
      past.status >= 400 && past.status < 500,
      `${what} at ${max + 1}: ${past.status} ${past.text.slice(0, 200)}`,
    );
  }
  // Sizes are reported in the same unit.
  const listed = await svc.request('GET', '/api/documents?limit=500', { token: DEMO_TOKEN });
  const big = listed.json.documents.find((d: { size: number }) => d.size === DOCUMENT_LIMITS.contentMaxChars);
  assert.ok(big, 'the boundary-length document is listed with its size in code points');
  assert.equal((await svc.llmHealth()).fail_count, 0);
});

test('6. hardening headers on every response, no-store on authenticated answers', async (t) => {
  const svc = await startService({ env: { ADMIN_TOKEN: ADMIN } });
  t.after(() => svc.close());
  const cases: Array<[string, string, { token?: string; body?: unknown }, boolean]> = [
    ['GET', '/docs', {}, false],
    ['GET', '/docs/json', {}, false],
    ['GET', '/health/circuit-breakers', {}, false],
    ['GET', '/metrics', {}, false],
    ['GET', '/dashboard', {}, false],
    ['GET', '/no/such/route', {}, false],
    ['GET', '/api/documents', {}, false],
    ['GET', '/api/documents', { token: DEMO_TOKEN }, true],
    ['POST', '/api/assistant/query', { token: DEMO_TOKEN, body: { query: 'grace' } }, true],
    ['POST', '/api/assistant/query', { token: DEMO_TOKEN, body: { query: '' } }, true],
    ['GET', '/dashboard/api/breakers', { token: ADMIN }, true],
  ];
  for (const [method, path, init, authenticated] of cases) {
    const reply = await svc.request(method, path, init);
    const where = `${method} ${path} (${reply.status})`;
    assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', where);
    assert.equal(reply.headers.get('x-frame-options'), 'DENY', where);
    assert.match(reply.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, where);
    if (authenticated) assert.equal(reply.headers.get('cache-control'), 'no-store', where);
  }
});
