// Graceful stop with long-lived responses open: app.close() ends them promptly instead of waiting for the
// model's next token (or its idle timeout). A stream the stop cuts short ends with a "shutting down" frame and
// its model call is aborted: neither a success nor a failure for the breaker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_TOKEN, eventually, startService } from '../helpers/service.js';

/** Far beyond every bound below: only the stop itself can end these calls within the test. */
const FAR = '120000';
/** A prompt close; the stalled stream would otherwise hold it for FAR ms. */
const PROMPT_MS = 5_000;

async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function ask(baseUrl: string): Promise<Response> {
  return fetch(`${baseUrl}/api/assistant/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'What does forgiveness mean?', stream: true }),
  });
}

test('close() with a stalled answer stream: ends it with a shutting-down event, aborts the model call, closes promptly', async (t) => {
  const svc = await startService({
    env: { LLM_STREAM_IDLE_TIMEOUT_MS: FAR, LLM_FIRST_TOKEN_TIMEOUT_MS: FAR, LLM_TIMEOUT_MS: FAR },
  });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'stall', latency_ms: 10 });
  const res = await ask(svc.baseUrl);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while ((seen.match(/event: token/g) ?? []).length < 3) {
    const { value } = await reader.read();
    seen += decoder.decode(value, { stream: true });
  }
  await eventually(() => (svc.sim.stats().by_outcome.stalled === 1 ? true : undefined), 'the stall');

  await within('app.close()', PROMPT_MS, svc.app.close());
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  const frames = seen.split('\n\n').filter((f) => f.trim() !== '');
  const last = frames.at(-1) ?? '';
  assert.match(last, /^event: error\n/);
  const data = JSON.parse(
    last
      .split('\n')
      .find((l) => l.startsWith('data: '))!
      .slice(6),
  );
  assert.equal(data.reason, 'shutting_down');
  assert.equal(data.partial, true);
  assert.doesNotMatch(seen, /event: done/);

  await eventually(
    () => (svc.sim.stats().in_flight === 0 ? true : undefined),
    'the upstream socket to close',
  );
  const totals = svc.app.breaker.stats().totals;
  assert.deepEqual([totals.successes, totals.failures], [0, 0], 'an abandoned call is neither outcome');
  assert.equal(svc.app.breaker.state, 'closed');
});

test('close() while a streamed request still waits for its first token: a 503 at once, the call aborted', async (t) => {
  const svc = await startService({
    env: { LLM_STREAM_IDLE_TIMEOUT_MS: FAR, LLM_FIRST_TOKEN_TIMEOUT_MS: FAR, LLM_TIMEOUT_MS: FAR },
  });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'hang' });
  const pending = ask(svc.baseUrl);
  await eventually(() => (svc.sim.stats().in_flight > 0 ? true : undefined), 'the model call to start');

  await within('app.close()', PROMPT_MS, svc.app.close());
  const res = await pending;
  assert.equal(res.status, 503);
  assert.ok(Number(res.headers.get('retry-after')) > 0);
  const body = (await res.json()) as { error: string; message: string };
  assert.equal(body.error, 'Service Unavailable');
  assert.match(body.message, /shutting down/);
  await eventually(
    () => (svc.sim.stats().in_flight === 0 ? true : undefined),
    'the upstream socket to close',
  );
  const totals = svc.app.breaker.stats().totals;
  assert.deepEqual([totals.successes, totals.failures], [0, 0]);
});

test('close() with a dashboard event stream and a /metrics reader open: both end, close is prompt', async (t) => {
  const svc = await startService();
  t.after(() => svc.close());
  const events = await fetch(`${svc.baseUrl}/dashboard/events`);
  assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = events.body!.getReader();
  await reader.read();
  const metrics = await fetch(`${svc.baseUrl}/metrics`);
  assert.equal(metrics.status, 200);

  await within('app.close()', PROMPT_MS, svc.app.close());
  // The dashboard stream ends (not merely the server stops listening).
  const ended = await within(
    'the dashboard stream to end',
    PROMPT_MS,
    (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })(),
  );
  assert.equal(ended, true);
  await metrics.text();
  await sleep(10);
  await assert.rejects(fetch(`${svc.baseUrl}/health/live`));
});

test('close() with a non-streamed request on a hung model: it gets HTTP_SHUTDOWN_GRACE_MS, then a 503, the call aborted', async (t) => {
  const svc = await startService({ env: { LLM_TIMEOUT_MS: FAR, HTTP_SHUTDOWN_GRACE_MS: '300' } });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'hang' });
  const pending = svc.request('POST', '/api/assistant/query', {
    token: DEMO_TOKEN,
    body: { query: 'What does patience look like?' },
    headers: { connection: 'close' },
  });
  await eventually(() => (svc.sim.stats().in_flight > 0 ? true : undefined), 'the model call to start');

  await within('app.close()', PROMPT_MS, svc.app.close());
  const reply = await pending;
  assert.equal(reply.status, 503, reply.text);
  assert.equal(reply.json.error, 'Service Unavailable');
  assert.match(reply.json.message, /shutting down/);
  assert.ok(Number(reply.headers.get('retry-after')) > 0);
  await eventually(
    () => (svc.sim.stats().in_flight === 0 ? true : undefined),
    'the upstream socket to close',
  );
  const totals = svc.app.breaker.stats().totals;
  assert.deepEqual([totals.successes, totals.failures], [0, 0], 'an abandoned call is neither outcome');
});
