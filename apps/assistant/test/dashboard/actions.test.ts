// Operator actions on breakers from the dashboard: the admin token gate (401/403/404/200), the effect on
// the breaker, the audit log line, and the read-only mode without ADMIN_TOKEN.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakerRegistry } from 'tripswitch';
import { adminTokenMatches } from '../../src/dashboard/index.js';
import { startDashboard } from './dashboard-server.js';

const ADMIN = 'op-secret-4f1c9a';

async function post(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('POST /dashboard/api/breakers/:name/:action', () => {
  test('401 without a token, 403 with a wrong one, 404 for an unknown breaker; nothing changes', async (t) => {
    const registry = new BreakerRegistry();
    const llm = registry.get('llm');
    const d = await startDashboard(t, { adminToken: ADMIN }, registry);
    const url = `${d.url}/dashboard/api/breakers/llm/isolate`;

    const none = await post(url);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);

    assert.equal((await post(url, { authorization: 'Bearer nope' })).status, 403);
    assert.equal((await post(url, { 'x-admin-token': `${ADMIN}x` })).status, 403);
    assert.equal((await post(url, { authorization: `Basic ${ADMIN}` })).status, 401, 'not a Bearer token');
    assert.equal(llm.state, 'closed', 'refused calls leave the breaker alone');

    const unknown = await post(`${d.url}/dashboard/api/breakers/nosuch/isolate`, {
      authorization: `Bearer ${ADMIN}`,
    });
    assert.equal(unknown.status, 404);
    assert.equal(registry.has('nosuch'), false, 'looking up must not create a breaker');
    // Unknown breakers are only revealed to the operator: without the token it is still 401.
    assert.equal((await post(`${d.url}/dashboard/api/breakers/nosuch/isolate`)).status, 401);
  });

  test('isolate, close and reset act on the breaker, answer its new state and are logged', async (t) => {
    const registry = new BreakerRegistry();
    const llm = registry.get('llm', { failMax: 1 });
    await assert.rejects(llm.execute(() => Promise.reject(new Error('boom'))));
    assert.equal(llm.state, 'open');
    const d = await startDashboard(t, { adminToken: ADMIN }, registry);
    const base = `${d.url}/dashboard/api/breakers/llm`;

    const isolated = await post(`${base}/isolate`, { authorization: `Bearer ${ADMIN}` });
    assert.equal(isolated.status, 200);
    assert.deepEqual(isolated.body, {
      breaker: 'llm',
      action: 'isolate',
      state: 'isolated',
      retry_after_ms: null,
    });
    assert.equal(llm.state, 'isolated');

    const closed = await post(`${base}/close`, { 'x-admin-token': ADMIN });
    assert.equal(closed.status, 200);
    assert.equal(closed.body.state, 'closed');
    assert.equal(llm.state, 'closed');
    assert.equal(llm.stats().totals.failures, 1, 'close keeps the lifetime totals');

    const reset = await post(`${base}/reset`, { authorization: `bearer ${ADMIN}` });
    assert.equal(reset.status, 200);
    assert.deepEqual(reset.body, { breaker: 'llm', action: 'reset', state: 'closed', retry_after_ms: 0 });
    assert.equal(llm.stats().totals.failures, 0, 'reset clears the totals');
    assert.equal(llm.lastFailureAt, null);

    const audit = d.logs.filter((l) => l.msg === 'dashboard operator action');
    assert.deepEqual(
      audit.map((l) => [l.level, l.breaker, l.action, l.state]),
      [
        [40, 'llm', 'isolate', 'isolated'],
        [40, 'llm', 'close', 'closed'],
        [40, 'llm', 'reset', 'closed'],
      ],
    );
    assert.ok(!JSON.stringify(d.logs).includes(ADMIN), 'the token never reaches the logs');
  });

  test('keyed breaker names with a colon work when URL-encoded', async (t) => {
    const registry = new BreakerRegistry();
    const embed = registry.keyed('model', 'llama/3');
    const d = await startDashboard(t, { adminToken: ADMIN }, registry);
    const res = await post(`${d.url}/dashboard/api/breakers/${encodeURIComponent('model:llama/3')}/isolate`, {
      authorization: `Bearer ${ADMIN}`,
    });
    assert.equal(res.status, 200);
    assert.equal(embed.state, 'isolated');
  });

  test('without ADMIN_TOKEN every action answers 403 and the snapshot says read-only', async (t) => {
    const registry = new BreakerRegistry();
    const llm = registry.get('llm');
    const d = await startDashboard(t, {}, registry);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer anything' },
      { 'x-admin-token': 'x' },
    ];
    for (const headers of attempts) {
      const res = await post(`${d.url}/dashboard/api/breakers/llm/isolate`, headers);
      assert.equal(res.status, 403);
      assert.match(String(res.body.message), /ADMIN_TOKEN/);
    }
    assert.equal(llm.state, 'closed');
  });

  test('the token comparison is exact', () => {
    assert.equal(adminTokenMatches(ADMIN, ADMIN), true);
    assert.equal(adminTokenMatches(`${ADMIN} `, ADMIN), false);
    assert.equal(adminTokenMatches(ADMIN.slice(0, -1), ADMIN), false);
    assert.equal(adminTokenMatches('', ADMIN), false);
    assert.equal(adminTokenMatches('x'.repeat(10_000), ADMIN), false);
  });
});

describe('GET /dashboard', () => {
  test('serves a self-contained page and its assets under a strict content security policy', async (t) => {
    const d = await startDashboard(t);
    const page = await fetch(`${d.url}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/dashboard\/assets\/dashboard\.js">/);
    assert.doesNotMatch(html, /https?:\/\//, 'no third-party resources');
    for (const [path, type] of [
      ['/dashboard/assets/dashboard.js', /^text\/javascript/],
      ['/dashboard/assets/dashboard.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${d.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type);
      assert.doesNotMatch(
        await res.text(),
        /https?:\/\/(?!www\.w3\.org)/,
        `${path}: no third-party resources`,
      );
    }
    const slash = await fetch(`${d.url}/dashboard/`, { redirect: 'manual' });
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.get('location'), '/dashboard');
  });
});
