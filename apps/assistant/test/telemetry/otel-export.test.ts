// OpenTelemetry export end to end: the real service (real HTTP, the simulated LLM over HTTP) exports to a real
// OTLP/HTTP collector on loopback. One span per model call carries the breaker's decision; the breaker metrics
// arrive; no secret, prompt or answer is in any payload; a collector that is down, failing or hanging costs
// the requests nothing and the logs one line.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { type CollectorMode, type ReceivedSpan, startCollector } from '../helpers/otlp-collector.js';
import { closedPort } from '../helpers/ports.js';
import { DEMO_TOKEN, eventually, type Service, startService } from '../helpers/service.js';

const API_KEY = 'sk-otel-apikey-5f4e3d2c1b0a9988';
const USER_TOKEN = 'tok-otel-user-7a6b5c4d3e2f';
const ADMIN_TOKEN = 'adm-otel-admin-0a1b2c3d4e5f';
// Percent-encoded in the variable (a space and a comma), decoded on the wire.
const OTLP_SECRET = 'otlp secret,9x8y7z6w5v';
const OTLP_HEADERS = `x-otlp-token=${encodeURIComponent(OTLP_SECRET)}`;

/** Captured pino lines. */
function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { stream, lines };
}

function fastExport(endpoint: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_METRIC_EXPORT_INTERVAL: '150',
    OTEL_BSP_SCHEDULE_DELAY: '20',
  };
}

test('a span per model call with the breaker decision, breaker metrics, and no secret in any payload', async (t) => {
  const collector = await startCollector();
  const logs = logSink();
  const svc = await startService({
    env: {
      ...fastExport(collector.url),
      OTEL_SERVICE_NAME: 'assistant-otel-test',
      OTEL_EXPORTER_OTLP_HEADERS: OTLP_HEADERS,
      LLM_API_KEY: API_KEY,
      ASSISTANT_TOKENS: `${USER_TOKEN}:alice`,
      ADMIN_TOKEN,
      // One failure opens the circuit, which then stays open for the rest of the test.
      BREAKER_FAIL_MAX: '1',
      BREAKER_OPEN_MS: '600000',
      LOG_LEVEL: 'info',
    },
    logStream: logs.stream,
  });
  // The service first: its last export goes to a collector that is still there.
  t.after(async () => {
    await svc.close();
    await collector.close();
  });

  const doc = await svc.request('POST', '/api/documents', {
    token: USER_TOKEN,
    body: {
      title: 'Harbour notes',
      content: 'The lighthouse keeper Zebediah polished the brass lamp at dusk.',
    },
  });
  assert.equal(doc.status, 201, doc.text);

  // 1. Answered by the model.
  const ok = await svc.query(USER_TOKEN, {
    query: 'What did the lighthouse keeper polish?',
    include_metadata: true,
  });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.metadata.from_fallback, false, ok.text);
  // 2. The model fails: counted, the circuit opens.
  await svc.setMode({ mode: 'error', status: 500 });
  const failed = await svc.query(USER_TOKEN, {
    query: 'When did the keeper polish the lamp?',
    include_metadata: true,
  });
  assert.equal(failed.json.metadata.fallback_reason, 'upstream_error', failed.text);
  // 3. Rejected by the open circuit without a request to the model.
  const before = await svc.simRequests();
  const rejected = await svc.query(USER_TOKEN, {
    query: 'Who is the lighthouse keeper?',
    include_metadata: true,
  });
  assert.equal(rejected.json.metadata.fallback_reason, 'circuit_open', rejected.text);
  assert.equal(await svc.simRequests(), before);

  const spans = await eventually(() => {
    const s = collector.spans();
    return s.length >= 3 ? s : undefined;
  }, 'three model-call spans');
  assert.equal(spans.length, 3, JSON.stringify(spans));
  const byOutcome = (o: string) =>
    spans.find((s) => s.attributes['tripswitch.outcome'] === o) as ReceivedSpan;
  for (const s of spans) {
    assert.equal(s.name, 'chat tripswitch-sim-1');
    assert.equal(s.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(s.scope, 'assistant');
    assert.equal(s.resource['service.name'], 'assistant-otel-test');
    assert.equal(typeof s.resource['service.instance.id'], 'string');
    assert.equal(s.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(s.attributes['gen_ai.provider.name'], 'sim');
    assert.equal(s.attributes['gen_ai.system'], 'sim');
    assert.equal(s.attributes['gen_ai.request.model'], 'tripswitch-sim-1');
    assert.equal(s.attributes['gen_ai.request.stream'], false);
    assert.equal(s.attributes['tripswitch.breaker.name'], 'llm');
  }

  const success = byOutcome('success');
  assert.deepEqual(
    pick(success, ['tripswitch.decision', 'tripswitch.breaker.state', 'tripswitch.attempts']),
    {
      'tripswitch.decision': 'admitted',
      'tripswitch.breaker.state': 'closed',
      'tripswitch.attempts': 1,
    },
  );
  assert.equal(success.statusCode, 0, 'unset status on success');
  assert.equal(success.attributes['gen_ai.response.model'], 'tripswitch-sim-1');
  assert.deepEqual(success.attributes['gen_ai.response.finish_reasons'], ['stop']);
  assert.ok(Number(success.attributes['gen_ai.usage.input_tokens']) > 0);
  assert.ok(Number(success.attributes['gen_ai.usage.output_tokens']) > 0);
  assert.equal(success.attributes['error.type'], undefined);
  assert.equal(success.attributes['assistant.fallback_reason'], undefined);

  const failure = byOutcome('failure');
  assert.deepEqual(
    pick(failure, [
      'tripswitch.decision',
      'tripswitch.breaker.state',
      'tripswitch.breaker.state_after',
      'tripswitch.attempts',
      'error.type',
      'assistant.fallback_reason',
    ]),
    {
      'tripswitch.decision': 'admitted',
      'tripswitch.breaker.state': 'closed',
      'tripswitch.breaker.state_after': 'open',
      'tripswitch.attempts': 1,
      'error.type': 'server_error',
      'assistant.fallback_reason': 'upstream_error',
    },
  );
  assert.equal(failure.statusCode, 2, 'error status');

  const rejection = byOutcome('rejected');
  assert.deepEqual(
    pick(rejection, [
      'tripswitch.decision',
      'tripswitch.breaker.state',
      'tripswitch.attempts',
      'error.type',
      'assistant.fallback_reason',
    ]),
    {
      'tripswitch.decision': 'rejected_open',
      'tripswitch.breaker.state': 'open',
      'tripswitch.attempts': 0,
      'error.type': 'circuit_open',
      'assistant.fallback_reason': 'circuit_open',
    },
  );
  assert.equal(rejection.statusCode, 2);
  assert.equal(rejection.attributes['gen_ai.usage.input_tokens'], undefined);

  // The breaker metrics /metrics shows, through tripswitch/otel: calls by outcome, the open state, the opening.
  const llm = (metric: string, extra: Record<string, string> = {}) =>
    collector
      .points()
      .filter(
        (p) =>
          p.metric === metric &&
          p.attributes.breaker_name === 'llm' &&
          Object.entries(extra).every(([k, v]) => p.attributes[k] === v),
      )
      .at(-1)?.value;
  await eventually(
    () =>
      llm('circuit_breaker.calls', { outcome: 'rejected' }) === 1 && llm('circuit_breaker.state') === 1
        ? true
        : undefined,
    'breaker metrics after the rejection',
  );
  assert.equal(llm('circuit_breaker.calls', { outcome: 'success' }), 1);
  assert.equal(llm('circuit_breaker.calls', { outcome: 'failure' }), 1);
  assert.equal(llm('circuit_breaker.failures'), 1);
  assert.equal(llm('circuit_breaker.openings'), 1);
  assert.equal(llm('circuit_breaker.rejections'), 1);
  // The duration histogram counts the two calls that ran (a rejection never runs).
  assert.equal(llm('circuit_breaker.call_duration', { outcome: 'success' }), 1);
  assert.equal(llm('circuit_breaker.call_duration', { outcome: 'failure' }), 1);
  assert.equal(
    collector.points().find((p) => p.metric === 'circuit_breaker.state')?.resource['service.name'],
    'assistant-otel-test',
  );

  // Every export carried the configured header; no payload carries a secret, the question or the answer.
  assert.ok(collector.requests.length >= 2);
  for (const r of collector.requests) assert.equal(r.headers['x-otlp-token'], OTLP_SECRET, r.path);
  const payloads = collector.requests.map((r) => r.body).join('\n');
  const answerWords = String(ok.json.answer)
    .split(/\s+/)
    .filter((w) => w.length > 8);
  for (const secret of [
    API_KEY,
    USER_TOKEN,
    ADMIN_TOKEN,
    OTLP_SECRET,
    encodeURIComponent(OTLP_SECRET),
    '9x8y7z6w5v',
    'lighthouse',
    'Zebediah',
    'polish',
    ok.json.answer,
    ...answerWords,
  ]) {
    assert.equal(payloads.includes(secret), false, `an OTLP payload contains ${JSON.stringify(secret)}`);
  }

  // The OTLP header value is one of the secrets the log scrubber knows.
  svc.app.server.log.warn({ detail: `collector said ${OTLP_SECRET}` }, 'probe');
  const probe = logs.lines.find((l) => l.includes('"probe"'));
  assert.ok(probe, 'the probe line was logged');
  assert.equal(probe.includes('9x8y7z6w5v'), false, probe);
  assert.match(probe, /\[redacted\]/);
});

/** Requests made while the collector misbehaves: every one answered by the model, as without telemetry. */
async function queriesServedNormally(svc: Service, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const reply = await svc.query(DEMO_TOKEN, {
      query: `What does forgiveness ask of us? (${i})`,
      include_metadata: true,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.metadata.from_fallback, false, reply.text);
  }
}

function exportFailureLines(lines: string[], signal: string): string[] {
  return lines.filter(
    (l) => l.includes('OpenTelemetry export failed') && l.includes(`"exporter":"${signal}"`),
  );
}

test('the collector is down: requests are served as usual and the failure is logged once per signal', async (t) => {
  const logs = logSink();
  const svc = await startService({
    env: {
      ...fastExport(`http://127.0.0.1:${await closedPort()}`),
      OTEL_EXPORTER_OTLP_TIMEOUT: '200',
      OTEL_EXPORTER_OTLP_HEADERS: OTLP_HEADERS,
      LOG_LEVEL: 'info',
    },
    logStream: logs.stream,
  });
  t.after(() => svc.close());
  await queriesServedNormally(svc, 5);
  await eventually(
    () => (exportFailureLines(logs.lines, 'traces').length > 0 ? true : undefined),
    'the span export failure to be logged',
  );
  await eventually(
    () => (exportFailureLines(logs.lines, 'metrics').length > 0 ? true : undefined),
    'the metric export failure to be logged',
  );
  await queriesServedNormally(svc, 3);
  assert.equal(svc.app.breaker.state, 'closed');
  await svc.close();
  const line = exportFailureLines(logs.lines, 'traces')[0]!;
  assert.match(line, /"reason":"ECONNREFUSED"/);
  assert.equal(exportFailureLines(logs.lines, 'traces').length, 1, logs.lines.join(''));
  assert.equal(exportFailureLines(logs.lines, 'metrics').length, 1, logs.lines.join(''));
  assert.equal(logs.lines.join('').includes('9x8y7z6w5v'), false);
});

test('a failing collector: many failed exports, one log line per signal, one when it recovers', async (t) => {
  const collector = await startCollector();
  collector.setMode('fail' satisfies CollectorMode);
  const logs = logSink();
  const svc = await startService({
    env: { ...fastExport(collector.url), LOG_LEVEL: 'info' },
    logStream: logs.stream,
  });
  // The service first: its last export goes to a collector that is still there.
  t.after(async () => {
    await svc.close();
    await collector.close();
  });
  await queriesServedNormally(svc, 3);
  // Metrics are exported every 150 ms: wait for many refused exports.
  await eventually(
    () => (collector.requests.filter((r) => r.path === '/v1/metrics').length >= 8 ? true : undefined),
    'eight refused metric exports',
  );
  assert.equal(exportFailureLines(logs.lines, 'metrics').length, 1, logs.lines.join(''));
  assert.match(exportFailureLines(logs.lines, 'metrics')[0]!, /"reason":"HTTP 500"/);
  assert.ok(exportFailureLines(logs.lines, 'traces').length <= 1);

  collector.setMode('ok');
  await eventually(
    () =>
      logs.lines.some(
        (l) => l.includes('OpenTelemetry export recovered') && l.includes('"exporter":"metrics"'),
      )
        ? true
        : undefined,
    'the recovery line',
  );
});

test('a collector that accepts and never answers: requests unaffected, graceful stop within its bound', async (t) => {
  const collector = await startCollector();
  collector.setMode('hang');
  const exportTimeoutMs = 120_000;
  const svc = await startService({
    env: { ...fastExport(collector.url), OTEL_EXPORTER_OTLP_TIMEOUT: String(exportTimeoutMs) },
  });
  // The service first: its last export goes to a collector that is still there.
  t.after(async () => {
    await svc.close();
    await collector.close();
  });
  await queriesServedNormally(svc, 3);
  await eventually(
    () => (collector.requests.some((r) => r.path === '/v1/traces') ? true : undefined),
    'a span export the collector holds',
  );
  await queriesServedNormally(svc, 3);
  // Stopping flushes what it can but does not wait out the hanging exports (whose own timeout is 2 minutes).
  const started = performance.now();
  await svc.close();
  assert.ok(performance.now() - started < exportTimeoutMs / 2, 'close() waited for the hanging collector');
});

function pick(span: ReceivedSpan, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, span.attributes[k]]));
}
