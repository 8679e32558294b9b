// Stopping with OpenTelemetry on: a collector that refuses connections (a real loopback port bound and closed)
// costs the stop nothing like the 5 s export bound; one that accepts and never answers (a real server) still
// gets the last export within the bound; a start that fails sends nothing and does not wait for the collector.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectOutput } from '../helpers/child-service.js';
import { startCollector } from '../helpers/otlp-collector.js';
import { closedPort } from '../helpers/ports.js';
import { DEMO_TOKEN, eventually, type Service, startService, TEST_ENV } from '../helpers/service.js';

/** The stop's export bound (otel.ts SHUTDOWN_WAIT_MS). */
const SHUTDOWN_WAIT_MS = 5_000;

async function served(svc: Service, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const reply = await svc.query(DEMO_TOKEN, { query: `What does forgiveness ask of us? (${i})` });
    assert.equal(reply.status, 200, reply.text);
  }
}

test('a collector that refuses connections: the stop does not wait out the export bound', async (t) => {
  // The exporter's own timeout (default 10 s) is longer than the bound: before, the stop waited the bound.
  const svc = await startService({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      OTEL_METRIC_EXPORT_INTERVAL: '150',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    },
  });
  t.after(() => svc.close());
  await served(svc, 3);
  const started = performance.now();
  await svc.close();
  const took = performance.now() - started;
  assert.ok(took < SHUTDOWN_WAIT_MS / 2, `close() took ${Math.round(took)} ms with the collector refusing`);
});

test('a collector that accepts and never answers still gets the last export (bounded)', async (t) => {
  const collector = await startCollector();
  collector.setMode('hang');
  // A metric interval far away: only the stop's flush sends metrics.
  const svc = await startService({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_METRIC_EXPORT_INTERVAL: '600000' },
  });
  t.after(async () => {
    await svc.close();
    await collector.close();
  });
  await served(svc, 2);
  const metricsBefore = collector.requests.filter((r) => r.path === '/v1/metrics').length;
  assert.equal(metricsBefore, 0);
  const started = performance.now();
  await svc.close();
  const took = performance.now() - started;
  await eventually(
    () => (collector.requests.some((r) => r.path === '/v1/metrics') ? true : undefined),
    'the last metric export to reach the collector',
  );
  assert.ok(took < SHUTDOWN_WAIT_MS * 3, `close() took ${Math.round(took)} ms: not bounded`);
});

test('a start that fails (PORT busy) with a hanging collector: exits with its one line, sends no telemetry', async (t) => {
  const collector = await startCollector();
  collector.setMode('hang');
  t.after(() => collector.close());
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => busy.close());
  const { port } = busy.address() as { port: number };
  const dir = mkdtempSync(join(tmpdir(), 'assistant-otel-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const appDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.INIT_CWD;
  const child = spawn(
    process.execPath,
    ['--conditions=tripswitch-source', '--import', 'tsx', join(appDir, 'src', 'main.ts')],
    {
      cwd: appDir,
      env: {
        ...base,
        ...TEST_ENV,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        SIM_PORT: '0',
        DATABASE_PATH: join(dir, 'a.db'),
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output = collectOutput(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  assert.equal(code, 1, output());
  assert.match(output(), new RegExp(`port ${port} is already in use: set PORT to a free port`));
  assert.deepEqual(
    collector.requests.map((r) => r.path),
    [],
    'a start that failed flushed telemetry (and waited for the collector)',
  );
});
