// Zero cost when unset: the real entry point (`npm start`'s src/main.ts) in a child process, with a module
// resolution hook recording every OpenTelemetry module it resolves. Without OTEL_EXPORTER_OTLP_ENDPOINT no SDK,
// exporter or tripswitch/otel module is loaded, even after a model call; with it they are (the control, so the
// recorder is known to see them).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSim } from '../../src/sim/server.js';
import { type ChildService, spawnService } from '../helpers/child-service.js';
import { DEMO_TOKEN, send } from '../helpers/service.js';

const RECORDER = fileURLToPath(new URL('../helpers/import-recorder/register.mjs', import.meta.url));

/** Starts the service, asks one question (a model call), stops it; returns the OpenTelemetry URLs it resolved. */
async function otelModulesLoaded(env: Record<string, string>): Promise<string[]> {
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'assistant-otel-'));
  const record = join(dir, 'imports.txt');
  let service: ChildService | undefined;
  try {
    service = await spawnService(
      {
        LLM_PROVIDER: 'sim',
        LLM_BASE_URL: sim.url,
        DATABASE_PATH: join(dir, 'assistant.db'),
        RECORD_IMPORTS_FILE: record,
        ...env,
      },
      60_000,
      'source',
      ['--import', RECORDER],
    );
    const reply = await send(`${service.baseUrl}/api/assistant/query`, 'POST', {
      token: DEMO_TOKEN,
      body: { query: 'What does forgiveness ask of us?', include_metadata: true },
    });
    assert.equal(reply.status, 200, service.output());
    assert.equal(reply.json.metadata.from_fallback, false, reply.text);
    await service.stop('SIGTERM');
    return existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
  } finally {
    await service?.stop('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SDK =
  /@opentelemetry\/(sdk-|exporter-|otlp-|resources|core|semantic-conventions)|tripswitch\/(src|dist)\/otel\/|adapters\/telemetry\//;

test('without OTEL_EXPORTER_OTLP_ENDPOINT no OpenTelemetry SDK module is loaded', async () => {
  const loaded = await otelModulesLoaded({});
  assert.deepEqual(
    loaded.filter((url) => SDK.test(url)),
    [],
  );
});

test('control: with OTEL_EXPORTER_OTLP_ENDPOINT the recorder sees the SDK, the exporters and tripswitch/otel', async () => {
  // A port nothing listens on: export fails quietly, the service answers anyway.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const loaded = await otelModulesLoaded({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '200',
  });
  for (const name of [
    '@opentelemetry/sdk-trace/',
    '@opentelemetry/sdk-metrics/',
    '@opentelemetry/exporter-trace-otlp-http/',
    '@opentelemetry/exporter-metrics-otlp-http/',
    '/otel/index.ts',
    '/adapters/telemetry/otel.ts',
  ]) {
    assert.ok(
      loaded.some((url) => url.includes(name)),
      `${name} not among the recorded modules:\n${loaded.join('\n')}`,
    );
  }
});
