// The security probe (`npm run probe:security`, also part of `npm test`): well over 100 hostile requests
// against the real service on loopback — auth variants on every protected route, admin-token guessing,
// method confusion on every route, body and parser attacks, boundary-length and odd Unicode, path
// traversal, secrets in URLs, slow bodies, dashboard stream floods, cross-user reads — then a provider
// that echoes the API key in its errors. It asserts: no 5xx other than the ladder's own 503, no request
// left hanging, no secret in any response or log line, and (for the client-side attacks) the breaker
// never moved.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { astral, getFrom, LogCapture, slowBody, slowHeaders, startEchoService } from '../helpers/hostile.js';
import { isLoadShed, type Service, startService } from '../helpers/service.js';

const ALICE = 'tok-probe-alice-4d5e6f7a8b';
const BOB = 'tok-probe-bob-9c0d1e2f3a';
const ADMIN = 'adm-probe-1b2c3d4e5f6a';
const API_KEY = 'sk-probe-Zq8Wx7Vc6Bn5Mm4Ll3Kk';
const SECRETS = [ALICE, BOB, ADMIN, API_KEY];

interface Outcome {
  what: string;
  status: number;
  text: string;
  retryAfter: string | null;
}

/** One request with a deadline (a hang is a failure), load-shed 503s retried like the other tests do. */
async function hit(
  svc: Service,
  what: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${svc.baseUrl}${path}`, {
      method,
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(30_000),
    }).catch((err: Error) => {
      throw new Error(`${what}: ${method} ${path} failed or hung: ${err.message}`);
    });
    const text = method === 'HEAD' ? '' : await res.text();
    let message: unknown;
    try {
      message = JSON.parse(text).message;
    } catch {
      message = undefined;
    }
    const outcome = { what, status: res.status, text, retryAfter: res.headers.get('retry-after') };
    if (!isLoadShed({ status: res.status, headers: res.headers, text, json: { message } }) || attempt >= 20) {
      return outcome;
    }
    await sleep(250);
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = (token: string | undefined, body: unknown) => ({
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : bearer(token)) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A 5xx is acceptable only as the ladder's own 503 on the query route, with a Retry-After. */
function assertNo5xx(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    if (o.status < 500) continue;
    const ladder = o.status === 503 && o.what.startsWith('query') && o.retryAfter !== null;
    assert.ok(ladder, `${o.what}: ${o.status} ${o.text.slice(0, 300)}`);
  }
}

function assertNoSecrets(where: string, text: string): void {
  for (const secret of SECRETS) assert.equal(text.includes(secret), false, `${where} contains ${secret}`);
}

test('security probe: client-side attacks', async (t) => {
  const logs = new LogCapture();
  const svc = await startService({
    env: {
      ASSISTANT_TOKENS: `${ALICE}:alice,${BOB}:bob`,
      ADMIN_TOKEN: ADMIN,
      LLM_API_KEY: API_KEY,
      LOG_LEVEL: 'trace',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      DASHBOARD_MAX_STREAMS_PER_CLIENT: '3',
    },
    logStream: logs,
  });
  t.after(() => svc.close());
  const moves: string[] = [];
  svc.app.breaker.addListener({ stateChange: (_b, from, to) => moves.push(`${from}->${to}`) });
  const outcomes: Outcome[] = [];
  const go = async (...args: Parameters<typeof hit> extends [Service, ...infer R] ? R : never) => {
    const o = await hit(svc, ...args);
    outcomes.push(o);
    return o;
  };

  // A document of alice's and a job id to aim at.
  const doc = await go(
    'setup document',
    'POST',
    '/api/documents',
    json(ALICE, { title: 'Grace', content: 'grace and peace' }),
  );
  assert.equal(doc.status, 201, doc.text);

  // 1. Auth variants on every protected route: all 401, none reaches a handler.
  const authVariants: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['scheme only', { authorization: 'Bearer' }],
    ['basic', { authorization: `Basic ${Buffer.from(`alice:${'x'}`).toString('base64')}` }],
    ['600-char token', bearer('a'.repeat(600))],
    ['sql injection', bearer("' OR 1=1 --")],
    ['admin token as user token', bearer(ADMIN)],
    ['wrong case', bearer(ALICE.toUpperCase())],
    ['token plus junk', { authorization: `Bearer ${ALICE} extra` }],
    ['unicode token', { authorization: 'Bearer t%C3%B6k%F0%9F%98%80' }],
  ];
  const protectedRoutes: Array<[string, string, string | undefined]> = [
    ['POST', '/api/assistant/query', JSON.stringify({ query: 'grace' })],
    ['GET', '/api/documents', undefined],
    ['POST', '/api/documents', JSON.stringify({ title: 't', content: 'c' })],
    ['GET', '/api/assistant/jobs/job_123', undefined],
  ];
  for (const [variant, headers] of authVariants) {
    for (const [method, path, body] of protectedRoutes) {
      const init =
        body === undefined
          ? { headers }
          : { headers: { ...headers, 'content-type': 'application/json' }, body };
      const o = await go(`auth ${variant} ${method} ${path}`, method, path, init);
      assert.equal(o.status, 401, `${o.what}: ${o.text}`);
    }
  }

  // 2. Admin-token guessing on every admin route.
  const adminRoutes = [
    '/dashboard/api/breakers/llm/isolate',
    '/dashboard/api/breakers/llm/close',
    '/dashboard/api/breakers/llm/reset',
  ];
  const adminVariants: Array<[string, Record<string, string>, string]> = [
    ['none', {}, ''],
    ['user token', bearer(ALICE), ''],
    ['near miss', bearer(`${ADMIN}x`), ''],
    ['empty x-admin-token', { 'x-admin-token': '' }, ''],
    ['token in query string only', {}, `?token=${ADMIN}`],
  ];
  for (const route of adminRoutes) {
    for (const [variant, headers, query] of adminVariants) {
      const o = await go(`admin ${variant} ${route}`, 'POST', `${route}${query}`, { headers });
      assert.ok(o.status === 401 || o.status === 403, `${o.what}: ${o.status}`);
    }
  }
  const detail = await go('admin detail without token', 'GET', '/dashboard/api/breakers');
  assert.equal(detail.status, 401);

  // 3. Method confusion on every route: an answer (no hang), never a 5xx.
  const routes = [
    '/api/assistant/query',
    '/api/documents',
    '/api/assistant/jobs/job_1',
    '/health/circuit-breakers',
    '/health/live',
    '/health/ready',
    '/metrics',
    '/dashboard',
    '/dashboard/events',
    '/dashboard/api/breakers',
    '/dashboard/api/breakers/llm/reset',
    '/docs',
    '/docs/json',
  ];
  for (const path of routes) {
    for (const method of ['HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND']) {
      const o = await go(`method ${method} ${path}`, method, path, { headers: bearer(ALICE) });
      assert.ok(o.status < 500, `${o.what}: ${o.status}`);
    }
  }

  // 4. Bodies and parsers.
  const bodies: Array<[string, RequestInit & { headers?: Record<string, string>; body?: string }]> = [
    ['deep nesting', json(ALICE, `{"query":${'['.repeat(5000)}${']'.repeat(5000)}}`)],
    ['__proto__', json(ALICE, '{"query":"grace","__proto__":{"admin":true}}')],
    ['constructor.prototype', json(ALICE, '{"query":"grace","constructor":{"prototype":{"x":1}}}')],
    ['lone surrogate', json(ALICE, '{"query":"\\ud800 grace"}')],
    ['null bytes', json(ALICE, { query: 'grace\u0000\u0000' })],
    ['FTS syntax', json(ALICE, { query: '"AND OR NEAR( * title: ^ -grace' })],
    ['SQL in query', json(ALICE, { query: "'); DROP TABLE documents; --" })],
    ['huge number', json(ALICE, '{"query":"grace","include_metadata":1e999}')],
    ['2 MB body', json(ALICE, { query: 'x'.repeat(2 * 1024 * 1024) })],
    ['text/plain', { headers: { ...bearer(ALICE), 'content-type': 'text/plain' }, body: 'query=grace' }],
    [
      'form body',
      {
        headers: { ...bearer(ALICE), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'query=grace',
      },
    ],
    [
      'charset lie',
      {
        headers: { ...bearer(ALICE), 'content-type': 'application/json; charset=utf-16' },
        body: '{"query":"grace"}',
      },
    ],
    ['empty JSON body', { headers: { ...bearer(ALICE), 'content-type': 'application/json' }, body: '' }],
    ['RTL override and zero-width', json(ALICE, { query: '\u202egrace\u200b\u200d\ufeff' })],
    ['combining marks', json(ALICE, { query: `g${'\u0301'.repeat(3000)}` })],
    ['NFKC forms', json(ALICE, { query: 'ﬁnal Ｇｒａｃｅ İstanbul straße' })],
    ['boundary astral query', json(ALICE, { query: astral(4000) })],
    ['astral query one past', json(ALICE, { query: astral(4001) })],
  ];
  for (const [what, init] of bodies) {
    const o = await go(`query ${what}`, 'POST', '/api/assistant/query', init as never);
    assert.ok(o.status < 500 || o.status === 503, `${o.what}: ${o.status} ${o.text.slice(0, 200)}`);
  }
  const docBodies: Array<[string, unknown]> = [
    ['astral title at limit', { title: astral(300), content: 'c' }],
    ['astral title past limit', { title: astral(301), content: 'c' }],
    ['whitespace title', { title: '\u3000\u2003 ', content: 'c' }],
    ['astral content', { title: 't', content: astral(5000, '𝔊') }],
    ['number title', { title: 42, content: 'c' }],
    ['extra field', { title: 't', content: 'c', user_id: 'bob' }],
  ];
  for (const [what, body] of docBodies) {
    const o = await go(`document ${what}`, 'POST', '/api/documents', json(ALICE, body));
    assert.ok(o.status === 201 || o.status === 400, `${o.what}: ${o.status} ${o.text.slice(0, 200)}`);
  }

  // 5. Path traversal, encodings, query strings carrying secrets.
  for (const path of [
    '/dashboard/assets/../../package.json',
    '/dashboard/assets/%2e%2e/%2e%2e/package.json',
    '/docs/../.env',
    '/api/documents/..%2f..%2fetc%2fpasswd',
    '/%00',
    `/api/documents?token=${ALICE}`,
    `/health/live?api_key=${API_KEY}`,
    `/metrics?password=${ADMIN}`,
    `/no/such/route?token=${BOB}`,
    `/api/assistant/jobs/${encodeURIComponent(astral(100))}`,
    `/dashboard/api/breakers/${encodeURIComponent(astral(200))}/reset`,
  ]) {
    await go(`path ${path.slice(0, 60)}`, 'GET', path);
  }

  // 6. Cross-user: bob cannot see alice's documents or jobs.
  const bobDocs = await go('bob lists documents', 'GET', '/api/documents', { headers: bearer(BOB) });
  assert.equal(JSON.parse(bobDocs.text).documents.length, 0);
  const queued = await go(
    'query alice queue',
    'POST',
    '/api/assistant/query',
    json(ALICE, { query: 'grace', fallback: ['queue'] }),
  );
  const jobId = JSON.parse(queued.text).job_id;
  if (typeof jobId === 'string') {
    assert.equal(
      (await go('bob reads alice job', 'GET', `/api/assistant/jobs/${jobId}`, { headers: bearer(BOB) }))
        .status,
      404,
    );
  }

  // 7. Slow bodies and headers: the server cuts them off.
  for (const path of ['/api/documents', '/api/assistant/query']) {
    const slow = await slowBody(svc.baseUrl, path, ALICE);
    assert.match(slow.response, /^(HTTP\/1\.1 408|$)/);
    outcomes.push({ what: `slow body ${path}`, status: 408, text: slow.response, retryAfter: null });
  }
  const slowHead = await slowHeaders(svc.baseUrl);
  outcomes.push({ what: 'slow headers', status: 408, text: slowHead.response, retryAfter: null });

  // 8. Dashboard stream flood from one address: capped; another viewer still gets in.
  const streams: IncomingMessage[] = [];
  t.after(() => {
    for (const s of streams) s.destroy();
  });
  const floodStatuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.1');
    streams.push(res);
    floodStatuses.push(res.statusCode ?? 0);
    outcomes.push({ what: 'stream flood', status: res.statusCode ?? 0, text: '', retryAfter: null });
  }
  assert.equal(floodStatuses.filter((s) => s === 200).length, 3, floodStatuses.join(','));
  assert.ok(floodStatuses.slice(3).every((s) => s === 429));
  const other = await getFrom(svc.baseUrl, '/dashboard/events', '127.0.0.3');
  streams.push(other);
  assert.equal(other.statusCode, 200);
  for (const s of streams) s.destroy();

  // Verdict.
  assert.ok(outcomes.length >= 100, `only ${outcomes.length} hostile requests`);
  t.diagnostic(`${outcomes.length} hostile requests`);
  assertNo5xx(outcomes);
  for (const o of outcomes) assertNoSecrets(`response to ${o.what}`, o.text);
  assertNoSecrets('/metrics', await svc.metricsText());
  const health = await svc.llmHealth();
  assertNoSecrets('health', JSON.stringify(health));
  assert.deepEqual(moves, [], 'the breaker moved');
  assert.equal(health.state, 'closed');
  assert.equal(health.fail_count, 0);
  const snap = svc.app.breaker.stats();
  assert.equal(snap.totals.failures, 0);
  assert.equal(snap.totals.openings, 0);
  await svc.close();
  assert.ok(logs.lines.length > 50, `only ${logs.lines.length} log lines`);
  assertNoSecrets('logs', logs.text());
});

test('security probe: a provider that echoes the API key in its errors', async (t) => {
  const { svc, upstream, logs } = await startEchoService(t, API_KEY, {
    ADMIN_TOKEN: ADMIN,
    ASSISTANT_TOKENS: `${ALICE}:alice`,
  });
  const outcomes: Outcome[] = [];
  for (let i = 0; i < 8; i++) {
    const fallback = i % 2 === 0 ? [] : ['cache', 'excerpts', 'queue'];
    outcomes.push(
      await hit(
        svc,
        `query ${i}`,
        'POST',
        '/api/assistant/query',
        json(ALICE, { query: `grace ${i}`, fallback, include_metadata: true }),
      ),
    );
  }
  for (const path of ['/health/circuit-breakers', '/metrics', '/dashboard/api/breakers']) {
    outcomes.push(await hit(svc, `read ${path}`, 'GET', path));
  }
  const admin = await hit(svc, 'admin detail', 'GET', '/dashboard/api/breakers', { headers: bearer(ADMIN) });
  outcomes.push(admin);
  assert.equal(admin.status, 200);
  assert.match(admin.text, /\[redacted\]/);
  assert.ok(upstream.requests >= 1);
  assertNo5xx(outcomes);
  for (const o of outcomes) assertNoSecrets(`response to ${o.what}`, o.text);
  await svc.close();
  assertNoSecrets('logs', logs.text());
});
