// The OTEL_* variables: defaults, derived URLs, and clear errors that name the variable (and never echo an
// OTLP header value, which is usually a credential). Plus the export-failure log limiter on its own clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExportFailures } from '../../src/adapters/telemetry/otel.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318' };

test('unset OTEL_EXPORTER_OTLP_ENDPOINT: no OpenTelemetry, whatever the other OTEL_* say', () => {
  assert.equal(loadConfig({}).otel, undefined);
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).otel, undefined);
  assert.equal(loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: 'soon', OTEL_SERVICE_NAME: 'x' }).otel, undefined);
  assert.equal(loadConfig({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' }).otel, undefined);
  assert.equal(loadConfig({ ...ENDPOINT, OTEL_SDK_DISABLED: 'TRUE' }).otel, undefined);
});

test('defaults and the signal URLs derived from the endpoint', () => {
  assert.deepEqual(loadConfig(ENDPOINT).otel, {
    endpoint: 'http://collector.internal:4318',
    tracesUrl: 'http://collector.internal:4318/v1/traces',
    metricsUrl: 'http://collector.internal:4318/v1/metrics',
    serviceName: 'assistant',
    headers: {},
    exportTimeoutMs: 10_000,
    metricIntervalMs: 60_000,
    spanDelayMs: 5_000,
  });
  const otel = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/otlp/',
    OTEL_SDK_DISABLED: 'false',
    OTEL_SERVICE_NAME: 'assistant-eu',
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20dXNlcjpwdw%3D%3D, x-scope=tenant-1,',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    OTEL_METRIC_EXPORT_INTERVAL: '15000',
    OTEL_BSP_SCHEDULE_DELAY: '1000',
  }).otel;
  assert.equal(otel?.tracesUrl, 'https://otlp.example.com/otlp/v1/traces');
  assert.equal(otel?.metricsUrl, 'https://otlp.example.com/otlp/v1/metrics');
  assert.equal(otel?.serviceName, 'assistant-eu');
  assert.deepEqual(otel?.headers, { Authorization: 'Basic dXNlcjpwdw==', 'x-scope': 'tenant-1' });
  assert.equal(otel?.exportTimeoutMs, 2500);
  assert.equal(otel?.metricIntervalMs, 15_000);
  assert.equal(otel?.spanDelayMs, 1000);
});

test('bad OTEL_* values are a ConfigError naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT must be .*http/],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' },
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https/,
    ],
    [{ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json/],
    [{ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, /OTEL_EXPORTER_OTLP_PROTOCOL/],
    [{ ...ENDPOINT, OTEL_SDK_DISABLED: 'yes' }, /OTEL_SDK_DISABLED must be true or false/],
    [
      { ...ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL: '0' },
      /OTEL_METRIC_EXPORT_INTERVAL must be an integer in \[100, /,
    ],
    [{ ...ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL: '1m' }, /OTEL_METRIC_EXPORT_INTERVAL/],
    [{ ...ENDPOINT, OTEL_EXPORTER_OTLP_TIMEOUT: '-1' }, /OTEL_EXPORTER_OTLP_TIMEOUT must be an integer/],
    [{ ...ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: '0.5' }, /OTEL_BSP_SCHEDULE_DELAY must be an integer/],
    [{ ...ENDPOINT, OTEL_SERVICE_NAME: 'a\nb' }, /OTEL_SERVICE_NAME must be/],
    [{ ...ENDPOINT, OTEL_SERVICE_NAME: 'x'.repeat(256) }, /OTEL_SERVICE_NAME must be at most 255/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, message);
        return true;
      },
      JSON.stringify(env),
    );
  }
});

test('a malformed OTEL_EXPORTER_OTLP_HEADERS is refused without echoing any value', () => {
  const secret = 'hunter2-collector-key';
  for (const raw of [
    `api-key ${secret}`,
    `ok=1,${secret}`,
    `bad key=${secret}`,
    `x-key=${secret}%zz`,
    `x-key=${secret}%0A`,
    `=${secret}`,
  ]) {
    assert.throws(
      () => loadConfig({ ...ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS: raw }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^OTEL_EXPORTER_OTLP_HEADERS/);
        assert.equal(err.message.includes('hunter2'), false, err.message);
        return true;
      },
      raw,
    );
  }
});

test('an endpoint with credentials in it is not echoed when refused', () => {
  assert.throws(
    () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:pa55word@' }),
    (err: unknown) => err instanceof ConfigError && !err.message.includes('pa55word'),
  );
});

test('export failures: the first is logged, then at most one line per interval, and the recovery once', () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  let now = 0;
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }),
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', fields, msg }),
  };
  // biome-ignore lint/suspicious/noExplicitAny: a two-method stand-in for pino's logger
  const failures = new ExportFailures('metrics', log as any, 60_000, () => now);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' });
  failures.record({ code: 0 });
  assert.equal(lines.length, 0, 'success while healthy says nothing');
  for (let i = 0; i < 100; i++) {
    failures.record({ code: 1, error: refused });
    now += 1000;
  }
  // t = 0 s logged; t = 60 s logged with the 60 failures since; nothing else within 100 s.
  assert.deepEqual(
    lines.map((l) => [l.level, l.fields.failed_exports, l.fields.reason]),
    [
      ['warn', 1, 'ECONNREFUSED'],
      ['warn', 60, 'ECONNREFUSED'],
    ],
  );
  failures.record({ code: 1, error: Object.assign(new Error('Internal Server Error'), { code: 500 }) });
  failures.record({ code: 0 });
  failures.record({ code: 0 });
  assert.deepEqual(
    lines.slice(2).map((l) => [l.level, l.msg]),
    [['info', 'OpenTelemetry export recovered']],
  );
  // A new outage is reported at once.
  failures.record({ code: 1, error: Object.assign(new Error('x'), { code: 503 }) });
  assert.equal(lines.at(-1)?.fields.reason, 'HTTP 503');
});
