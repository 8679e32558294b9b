// Test helper: the dashboard plugin on a real Fastify server on 127.0.0.1 with a real breaker registry and
// real metrics; log lines are captured so tests can check what operators' actions leave behind.
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { BreakerRegistry } from 'tripswitch';
import { type DashboardOptions, type DashboardPlugin, dashboardPlugin } from '../../src/dashboard/index.js';
import { ServiceMetrics } from '../../src/observability/metrics.js';

export interface DashboardServer {
  app: FastifyInstance;
  url: string;
  registry: BreakerRegistry;
  metrics: ServiceMetrics;
  plugin: DashboardPlugin;
  logs: Array<Record<string, unknown>>;
}

export async function startDashboard(
  t: TestContext,
  options: Omit<DashboardOptions, 'registry' | 'metrics'> = {},
  registry = new BreakerRegistry(),
): Promise<DashboardServer> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
  const metrics = new ServiceMetrics({ defaultMetrics: false });
  const plugin = dashboardPlugin({ registry, metrics, ...options });
  await app.register(plugin);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return { app, url, registry, metrics, plugin, logs };
}

/** Waits until `check()` is true, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
