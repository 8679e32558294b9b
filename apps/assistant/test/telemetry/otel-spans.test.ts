// More model-call spans over real OTLP/HTTP: streamed calls (answered, stalled after tokens, abandoned by the
// client), a call the budgeted retry ran twice, and the secondary model behind its own breaker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIM_FALLBACK_MODEL } from '../../src/config.js';
import { startSim } from '../../src/sim/server.js';
import { type ReceivedSpan, startCollector } from '../helpers/otlp-collector.js';
import { DEMO_TOKEN, eventually, startService } from '../helpers/service.js';

const PRIMARY = 'tripswitch-sim-1';

test('streamed calls, a retried call and the secondary model: one span each, with what happened', async (t) => {
  const collector = await startCollector();
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const svc = await startService({
    sim,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      LLM_FALLBACK_PROVIDER: 'sim',
      LLM_FALLBACK_BASE_URL: sim.url,
      LLM_STREAM_IDLE_TIMEOUT_MS: '300',
      CACHE_TTL_MS: '0',
      CACHE_STALE_TTL_MS: '0',
      BREAKER_FAIL_MAX: '10',
    },
  });
  t.after(async () => {
    await svc.close();
    await sim.close();
    await collector.close();
  });
  const ask = (body: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${svc.baseUrl}/api/assistant/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'What does forgiveness mean?', ...body }),
      ...(signal ? { signal } : {}),
    });
  let seen = 0;
  /** The spans ended since the last call (waits for `n`). */
  const next = async (n: number): Promise<ReceivedSpan[]> => {
    const spans = await eventually(() => {
      const all = collector.spans();
      return all.length >= seen + n ? all : undefined;
    }, `${n} more spans`);
    const fresh = spans.slice(seen);
    seen = spans.length;
    assert.equal(fresh.length, n, JSON.stringify(fresh.map((s) => s.attributes)));
    return fresh;
  };

  // 1. A streamed answer.
  const ok = await ask({ stream: true });
  assert.match(ok.headers.get('content-type') ?? '', /event-stream/);
  const okEvents = await ok.text();
  const tokens = okEvents.split('event: token').length - 1;
  assert.ok(tokens > 0);
  const [streamedOk] = await next(1);
  assert.equal(streamedOk!.attributes['gen_ai.request.stream'], true);
  assert.equal(streamedOk!.attributes['tripswitch.breaker.name'], 'llm');
  assert.equal(streamedOk!.attributes['tripswitch.decision'], 'admitted');
  assert.equal(streamedOk!.attributes['tripswitch.outcome'], 'success');
  assert.equal(streamedOk!.attributes['assistant.tokens_streamed'], tokens);
  assert.equal(streamedOk!.attributes['gen_ai.response.model'], PRIMARY);
  assert.equal(streamedOk!.statusCode, 0);

  // 2. A stream that stalls after three tokens: the idle timeout fails it (counted), the client gets `error`.
  await svc.setMode({ mode: 'stall', latency_ms: 10 });
  const stalled = await (await ask({ stream: true })).text();
  assert.match(stalled, /event: error/);
  const [stall] = await next(1);
  assert.equal(stall!.attributes['gen_ai.request.stream'], true);
  assert.equal(stall!.attributes['tripswitch.outcome'], 'timeout');
  assert.equal(stall!.attributes['error.type'], 'timeout');
  assert.equal(stall!.attributes['assistant.fallback_reason'], 'timeout');
  assert.equal(stall!.attributes['assistant.tokens_streamed'], 3);
  assert.equal(stall!.statusCode, 2);

  // 3. The client leaves after the first token: the call is cancelled, neither success nor failure.
  await svc.setMode({ mode: 'drip', latency_ms: 100 });
  const leaving = new AbortController();
  const dripping = await ask({ stream: true }, leaving.signal);
  const reader = dripping.body!.getReader();
  let head = '';
  while (!head.includes('event: token')) head += new TextDecoder().decode((await reader.read()).value);
  leaving.abort();
  await reader.cancel().catch(() => {});
  const [left] = await next(1);
  assert.equal(left!.attributes['tripswitch.decision'], 'admitted');
  assert.equal(left!.attributes['tripswitch.outcome'], 'ignored');
  assert.equal(left!.attributes['error.type'], 'cancelled');
  assert.ok(Number(left!.attributes['assistant.tokens_streamed']) >= 1);

  // 4. The primary rate-limits with a short Retry-After: the budgeted retry runs a second attempt, which is
  // refused too; the secondary model answers behind its own breaker.
  await svc.setMode({ mode: 'healthy' });
  await svc.setMode({ mode: 'ratelimit', retry_after_s: 1, model: PRIMARY });
  const degraded = await ask({ include_metadata: true });
  const body = (await degraded.json()) as { metadata: Record<string, unknown> };
  assert.equal(body.metadata.fallback_level, 'secondary_model', JSON.stringify(body));
  const spans = await next(2);
  const primary = spans.find((s) => s.attributes['tripswitch.breaker.name'] === 'llm')!;
  const secondary = spans.find((s) => s.attributes['tripswitch.breaker.name'] === 'llm-fallback')!;
  assert.deepEqual(
    [
      primary.attributes['tripswitch.attempts'],
      primary.attributes['tripswitch.outcome'],
      primary.attributes['error.type'],
      primary.attributes['assistant.fallback_reason'],
      primary.attributes['gen_ai.request.stream'],
    ],
    [2, 'failure', 'rate_limited', 'rate_limited', false],
  );
  assert.equal(secondary.name, `chat ${SIM_FALLBACK_MODEL}`);
  assert.equal(secondary.attributes['gen_ai.request.model'], SIM_FALLBACK_MODEL);
  assert.equal(secondary.attributes['tripswitch.outcome'], 'success');
  assert.equal(secondary.attributes['tripswitch.breaker.state'], 'closed');
});
