// End to end in a real Chromium: the real service (createApp + the simulated LLM, temp SQLite, short
// timeouts) trips its breaker when the model hangs; the page shows it live; an operator enters the admin
// token and isolates then resets the breaker with the page's buttons. Screenshots at 1280 px and 390 px.
//
// Screenshots go to a temp dir on every run; with UPDATE_SCREENSHOTS=1 they are written to docs/ instead
// (docs/dashboard.png, docs/dashboard-mobile.png) so a plain test run never dirties the work tree.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { type App, createApp, LLM_BREAKER } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DEMO_TOKEN } from '../../src/domain/auth.js';
import { type SimServer, startSim } from '../../src/sim/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'e2e-admin-7d2b';
const FAIL_MAX = 3;

function screenshotDir(t: { after(fn: () => void): void }): string {
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const docs = fileURLToPath(new URL('../../../../docs/', import.meta.url));
    mkdirSync(docs, { recursive: true });
    return docs;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-shots-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function ask(base: string, query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/assistant/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** Waits until the card of breaker `name` shows `state` both as text and as its colour attribute. */
function waitForState(page: Page, name: string, state: string): Promise<void> {
  return page
    .locator(`.breaker[data-state="${state}"]`)
    .filter({ has: page.locator('.breaker-name', { hasText: exactly(name) }) })
    .locator('.state-text', { hasText: exactly(state) })
    .waitFor({ timeout: 15_000 });
}

/** Polls an element's text until `ok` accepts it (the page's CSP forbids string evaluation in the page). */
async function waitForText(locator: Locator, ok: (text: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = (await locator.textContent({ timeout: 15_000 })) ?? '';
    if (ok(text)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last text: "${text}"`);
    await sleep(100);
  }
}

test('dashboard in Chromium: a hanging model trips the breaker live; isolate and reset from the page', async (t) => {
  if (!existsSync(CHROMIUM)) {
    const notice = `\n${'!'.repeat(78)}\n!! dashboard e2e: ${CHROMIUM} not found — install it with: apt-get install -y chromium\n${'!'.repeat(78)}\n`;
    console.error(notice);
    // In CI the browser is installed by the CI script: its absence is a failure, not a skip.
    assert.notEqual(process.env.CI, 'true', `Chromium missing at ${CHROMIUM} under CI=true`);
    t.skip('Chromium not installed');
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'dashboard-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim: SimServer = await startSim({ port: 0, host: '127.0.0.1' });
  t.after(() => sim.close());
  const config = loadConfig({
    LLM_PROVIDER: 'sim',
    LLM_BASE_URL: sim.url,
    LLM_TIMEOUT_MS: '1000',
    BREAKER_FAIL_MAX: String(FAIL_MAX),
    BREAKER_OPEN_MS: '120000',
    DATABASE_PATH: join(dir, 'assistant.db'),
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
  });
  const app: App = await createApp(config);
  t.after(() => app.close());
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });

  // A healthy start: the model answers, the page is live and shows the breaker closed.
  for (const q of ['What is grace?', 'How do we keep hope in winter?']) {
    assert.equal((await ask(base, q)).status, 200);
  }
  await page.goto(`${base}/dashboard`);
  await waitForState(page, LLM_BREAKER, 'closed');
  await page.locator('#conn[data-conn="live"]', { hasText: exactly('Live') }).waitFor();

  // The model hangs: each call times out after 1 s until the breaker trips, then calls are rejected.
  sim.setMode({ mode: 'hang' });
  const answers = [];
  for (let i = 0; i < FAIL_MAX + 4; i++)
    answers.push(await ask(base, `Tell me about forgiveness, part ${i}`));
  assert.ok(
    answers.every((a) => a.status === 503 || (a.body.metadata as { from_fallback?: boolean }).from_fallback),
    'every answer during the outage is degraded',
  );
  assert.equal(app.breaker.state, 'open');
  await waitForState(page, LLM_BREAKER, 'open');
  const card = page.locator('.breaker', { hasText: LLM_BREAKER });
  await waitForText(
    card.locator('[data-field="rejected"]'),
    (text) => Number(text) >= 1,
    'rejections on the page',
  );
  assert.equal(await card.locator('[data-field="failCount"]').textContent(), String(FAIL_MAX));
  assert.match((await card.locator('[data-field="probe"]').textContent()) ?? '', /^in \d/);
  assert.match((await card.locator('[data-field="lastFailure"]').textContent()) ?? '', /ago .*Timeout/i);
  const chartLabel = (await card.locator('.chart svg').getAttribute('aria-label')) ?? '';
  const counts = /(\d+) successful, (\d+) failed and (\d+) rejected calls; states: .*open/.exec(chartLabel);
  assert.ok(counts, `timeline summary: ${chartLabel}`);
  assert.ok(Number(counts[1]) >= 1 && Number(counts[2]) >= FAIL_MAX && Number(counts[3]) >= 1, chartLabel);
  assert.match((await page.locator('#mix').textContent()) ?? '', /Model answer/);

  // The operator pastes the token (sessionStorage only) and isolates the breaker with the keyboard.
  await page.getByRole('button', { name: 'Show the last 1 min of the timeline' }).click();
  await page.fill('#token', ADMIN);
  await page.click('#token-save');
  assert.equal(await page.evaluate(`sessionStorage.getItem('tripswitch.dashboard.adminToken')`), ADMIN);
  assert.equal(await page.evaluate('localStorage.length'), 0, 'the token is never persisted');
  const shots = screenshotDir(t);
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  assert.ok(overflow <= 0, `no horizontal scrolling at 390 px (overflow ${overflow}px)`);
  await page.screenshot({ path: join(shots, 'dashboard-mobile.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  const isolate = page.getByRole('button', { name: `Isolate breaker ${LLM_BREAKER}` });
  await isolate.focus();
  await page.keyboard.press('Enter');
  await waitForState(page, LLM_BREAKER, 'isolated');
  assert.equal(app.breaker.state, 'isolated');
  assert.match(
    (await page.locator('#action-status').textContent()) ?? '',
    /isolate done, breaker is now isolated/,
  );
  assert.match((await card.locator('[data-field="probe"]').textContent()) ?? '', /isolated by an operator/);

  // The model is back; reset from the page closes the circuit and clears the counts.
  sim.setMode({ mode: 'healthy' });
  await page.getByRole('button', { name: `Reset breaker ${LLM_BREAKER}` }).click();
  await waitForState(page, LLM_BREAKER, 'closed');
  assert.equal(app.breaker.state, 'closed');
  assert.equal(app.breaker.stats().totals.failures, 0);
  await waitForText(card.locator('[data-field="failCount"]'), (text) => text === '0', 'fail count 0');
  assert.equal((await ask(base, 'What is grace? (again)')).status, 200);

  assert.deepEqual(pageErrors, [], 'no script errors on the page');

  // The service goes away: the page says its data is stale instead of showing it as live.
  await app.close();
  await page.locator('#conn[data-conn="stale"]').waitFor({ timeout: 15_000 });
  assert.match((await page.locator('#conn').textContent()) ?? '', /reconnecting|retrying/i);
  for (const file of ['dashboard.png', 'dashboard-mobile.png']) {
    const png = readFileSync(join(shots, file));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
    assert.ok(png.length > 10_000, `${file} has content`);
  }
});
