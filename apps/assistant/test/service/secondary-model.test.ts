// The secondary model (LLM_FALLBACK_*, DESIGN.md 3.1): its own breaker `llm-fallback`, tried when the
// primary's circuit is open or its call failed, before the cache rung; the worker answers jobs with
// whichever model is available. Real app, real SQLite, one real sim serving both model names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig, SIM_FALLBACK_MODEL } from '../../src/config.js';
import { startSim } from '../../src/sim/server.js';
import {
  DEMO_TOKEN,
  eventually,
  metricValue,
  type Service,
  startService,
  waitForJob,
} from '../helpers/service.js';

const PRIMARY = 'tripswitch-sim-1';
const QUESTION = 'What does forgiveness mean?';

async function start(extraEnv: Record<string, string> = {}): Promise<Service> {
  // One sim for both models: LLM_FALLBACK_BASE_URL points the secondary at it as well.
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const svc = await startService({
    sim,
    env: {
      BREAKER_OPEN_MS: '600',
      LLM_FALLBACK_PROVIDER: 'sim',
      LLM_FALLBACK_BASE_URL: sim.url,
      ...extraEnv,
    },
  });
  const close = svc.close;
  svc.close = async () => {
    await close();
    await sim.close();
  };
  return svc;
}

const stats = (svc: Service) => svc.sim.stats();

test('primary failing: the secondary model answers, marked degraded, with the primary reason and who answered', async (t) => {
  const svc = await start();
  t.after(() => svc.close());
  await svc.setMode({ mode: 'error', status: 500, model: PRIMARY });

  const reply = await svc.query(DEMO_TOKEN, { query: QUESTION, include_metadata: true });
  assert.equal(reply.status, 200, reply.text);
  const m = reply.json.metadata;
  assert.equal(m.from_fallback, true);
  assert.equal(m.fallback_level, 'secondary_model');
  assert.equal(m.fallback_reason, 'upstream_error');
  assert.equal(m.model, SIM_FALLBACK_MODEL);
  assert.ok(reply.json.answer.length > 0);
  assert.ok(reply.json.sources.length > 0);
  assert.deepEqual(stats(svc).by_model, { [PRIMARY]: 1, [SIM_FALLBACK_MODEL]: 1 });

  // Without include_metadata the answerer is named all the same.
  const plain = await svc.query(DEMO_TOKEN, { query: 'How can I practice gratitude every day?' });
  assert.equal(plain.json.metadata.model, SIM_FALLBACK_MODEL);
});

test('primary circuit open: calls go straight to the secondary; both breakers show in health and metrics', async (t) => {
  const svc = await start({ BREAKER_OPEN_MS: '60000' });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'error', status: 503, model: PRIMARY });
  for (let i = 0; i < 3; i++) {
    const r = await svc.query(DEMO_TOKEN, { query: `question ${i} about grace` });
    assert.equal(r.json.metadata.fallback_level, 'secondary_model', r.text);
  }
  const health = (await svc.request('GET', '/health/circuit-breakers')).json;
  assert.equal(health.llm.state, 'open');
  assert.equal(health['llm-fallback'].state, 'closed');
  const primaryCalls = stats(svc).by_model[PRIMARY];

  const r = await svc.query(DEMO_TOKEN, { query: QUESTION });
  assert.equal(r.status, 200);
  assert.equal(r.json.metadata.fallback_reason, 'circuit_open');
  assert.equal(r.json.metadata.fallback_level, 'secondary_model');
  assert.equal(stats(svc).by_model[PRIMARY], primaryCalls, 'no call to the open primary');

  const metrics = await svc.metricsText();
  assert.equal(metricValue(metrics, 'circuit_breaker_state', { breaker_name: 'llm' }), 1);
  assert.equal(metricValue(metrics, 'circuit_breaker_state', { breaker_name: 'llm-fallback' }), 0);
});

test('both models failing: the ladder goes on (cache, then excerpts) with the primary reason', async (t) => {
  const svc = await start({ CACHE_TTL_MS: '0' }); // every cached answer is already stale
  t.after(() => svc.close());
  const first = await svc.query(DEMO_TOKEN, { query: QUESTION });
  assert.equal(first.json.metadata.from_fallback, false);
  await svc.setMode({ mode: 'error', status: 500 }); // every model

  const cached = await svc.query(DEMO_TOKEN, { query: QUESTION });
  assert.equal(cached.status, 200);
  assert.equal(cached.json.metadata.fallback_level, 'l1_cache');
  assert.equal(cached.json.metadata.fallback_reason, 'upstream_error');
  const excerpts = await svc.query(DEMO_TOKEN, { query: 'How can I practice gratitude every day?' });
  assert.equal(excerpts.json.metadata.fallback_level, 'excerpts');
  assert.ok(stats(svc).by_model[SIM_FALLBACK_MODEL]! >= 2, 'the secondary was tried');
});

test('recovery: once the primary heals and its circuit closes, the primary answers again', async (t) => {
  const svc = await start();
  t.after(() => svc.close());
  await svc.setMode({ mode: 'error', model: PRIMARY });
  for (let i = 0; i < 3; i++) await svc.query(DEMO_TOKEN, { query: `trip ${i} grace` });
  assert.equal((await svc.llmHealth()).state, 'open');
  await svc.setMode({ mode: 'healthy' });
  const reply = await eventually(async () => {
    const r = await svc.query(DEMO_TOKEN, { query: `after recovery ${Date.now()} grace` });
    return r.json.metadata.from_fallback === false ? r : undefined;
  }, 'the primary to answer again');
  assert.equal(reply.status, 200);
  assert.equal((await svc.llmHealth()).state, 'closed');
});

test('the worker answers a queued job with the secondary while the primary circuit stays open', async (t) => {
  const svc = await start({ BREAKER_OPEN_MS: '1500' });
  t.after(() => svc.close());
  svc.app.breaker.isolate(); // the primary stays open for the whole test
  await svc.setMode({ mode: 'error', status: 500, model: SIM_FALLBACK_MODEL });
  for (let i = 0; i < 3; i++) await svc.query(DEMO_TOKEN, { query: `trip ${i} grace`, fallback: [] });
  assert.equal(svc.app.secondary?.breaker.state, 'open');
  // Both circuits open: queued without any upstream call, and the worker claims nothing yet.
  const queued = await svc.query(DEMO_TOKEN, { query: 'Who was Zacchaeus?', fallback: ['queue'] });
  assert.equal(queued.status, 202, queued.text);
  await sleep(200);
  const job0 = await svc.request('GET', `/api/assistant/jobs/${queued.json.job_id}`, { token: DEMO_TOKEN });
  assert.equal(job0.json.status, 'queued');
  await svc.setMode({ mode: 'healthy' }); // the provider heals, but the primary stays isolated
  const job = await waitForJob(svc, DEMO_TOKEN, queued.json.job_id, 20_000);
  assert.equal(job.status, 'done', JSON.stringify(job));
  assert.equal(job.result.metadata.fallback_level, 'secondary_model');
  assert.equal(job.result.metadata.model, SIM_FALLBACK_MODEL);
  assert.equal((await svc.llmHealth()).state, 'isolated');
  assert.equal(stats(svc).by_model[PRIMARY], undefined, 'the isolated primary was never called');
});

test('no LLM_FALLBACK_PROVIDER: no secondary breaker anywhere', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  const health = (await svc.request('GET', '/health/circuit-breakers')).json;
  assert.deepEqual(Object.keys(health), ['llm']);
  assert.equal(svc.app.secondary, undefined);
});

test('LLM_FALLBACK_* configuration errors name the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ LLM_FALLBACK_MODEL: 'm' }, /LLM_FALLBACK_MODEL is set but LLM_FALLBACK_PROVIDER is not/],
    [{ LLM_FALLBACK_PROVIDER: 'gpt' }, /LLM_FALLBACK_PROVIDER must be one of/],
    [{ LLM_FALLBACK_PROVIDER: 'openai', LLM_FALLBACK_MODEL: 'm' }, /LLM_FALLBACK_BASE_URL is required/],
    [
      { LLM_FALLBACK_PROVIDER: 'openai', LLM_FALLBACK_BASE_URL: 'http://x/v1' },
      /LLM_FALLBACK_MODEL is required/,
    ],
    [
      { LLM_FALLBACK_PROVIDER: 'sim', LLM_FALLBACK_BASE_URL: 'not a url' },
      /LLM_FALLBACK_BASE_URL must be an absolute URL/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  }
  assert.equal(loadConfig({ LLM_FALLBACK_PROVIDER: 'sim' }).llm.fallback?.model, SIM_FALLBACK_MODEL);
});
