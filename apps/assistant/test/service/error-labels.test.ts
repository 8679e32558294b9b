// Every error the service answers carries `error` = the status code's standard reason phrase and
// `statusCode` = the status: the router's own refusals (414 for an over-long path parameter, 400 for a broken
// percent-escape) included, which also go through the service's hooks (hardening headers) like any other reply.
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { test } from 'node:test';
import { DEMO_TOKEN, type HttpReply, type Service, startService } from '../helpers/service.js';

function agrees(reply: HttpReply, status: number, what: string): void {
  assert.equal(reply.status, status, `${what}: ${reply.text.slice(0, 300)}`);
  assert.equal(reply.json?.statusCode, status, `${what}: ${reply.text.slice(0, 300)}`);
  assert.equal(reply.json?.error, STATUS_CODES[status], `${what}: label ${reply.json?.error} for ${status}`);
  assert.equal(typeof reply.json?.message, 'string', what);
  assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', `${what}: hardening headers`);
}

async function cases(svc: Service): Promise<void> {
  const auth = { token: DEMO_TOKEN };
  agrees(await svc.query(DEMO_TOKEN, { query: 42 }), 400, 'schema violation');
  agrees(await svc.request('GET', '/api/assistant/jobs/%E0%A4%A', auth), 400, 'broken percent-escape');
  agrees(await svc.query(undefined, { query: 'hi' }), 401, 'no token');
  agrees(
    await svc.request('POST', '/dashboard/api/breakers/llm/isolate', {}),
    403,
    'admin action without ADMIN_TOKEN',
  );
  agrees(await svc.request('GET', '/no/such/route', auth), 404, 'unknown route');
  agrees(await svc.request('GET', '/api/assistant/jobs/nope', auth), 404, 'unknown job');
  // Fastify answers an unrouted method with 404 (there is no 405): the label still follows the status.
  const wrongMethod = await svc.request('DELETE', '/api/assistant/query', auth);
  agrees(wrongMethod, wrongMethod.status, 'wrong method');
  assert.ok(wrongMethod.status === 404 || wrongMethod.status === 405);
  agrees(
    await svc.request('POST', '/api/assistant/query', {
      ...auth,
      body: JSON.stringify({ query: 'x'.repeat(1024 * 1024 + 10) }),
    }),
    413,
    'body over the limit',
  );
  const long = await svc.request('GET', `/api/assistant/jobs/${'a'.repeat(1100)}`, auth);
  agrees(long, 414, 'path parameter over the router limit');
  assert.equal(long.text.includes('a'.repeat(200)), false, 'the 414 does not echo the path');
  agrees(
    await svc.request('POST', '/api/assistant/query', {
      ...auth,
      body: '<query>hi</query>',
      headers: { 'content-type': 'application/xml' },
    }),
    415,
    'unsupported media type',
  );
}

test('4xx bodies: error label === STATUS_CODES[status] (400, 401, 403, 404, 413, 414, 415)', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  await cases(svc);
});

test('429 from the rate limit: error label === STATUS_CODES[429]', async (t) => {
  const svc = await startService({ env: { RATE_LIMIT_PER_MINUTE: '2' } });
  t.after(() => svc.close());
  let last: HttpReply | undefined;
  for (let i = 0; i < 4; i++)
    last = await svc.request('GET', '/api/assistant/jobs/nope', { token: DEMO_TOKEN });
  agrees(last!, 429, 'rate limit');
});
