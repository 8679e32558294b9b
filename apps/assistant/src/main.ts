// `npm start`: the AssistantService on embedded defaults (SQLite, in-memory breaker state and cache,
// the bundled sample corpus) and, when no LLM is configured, the simulated LLM beside it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseUnavailableError, MigrationError, redactDatabaseUrl } from './adapters/postgres/index.js';
import { redactRedisUrl } from './adapters/redis/connection.js';
import { type App, createApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DEMO_TOKEN } from './domain/auth.js';
import { safeUrl } from './observability/scrub.js';
import { type SimServer, startSim } from './sim/server.js';

/** A start-up failure worth one line, not a stack trace: the process exits with `exitCode`. */
class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * `.env` in the directory `npm start` was run from (INIT_CWD), if present. Variables already set in the
 * environment win over the file (process.loadEnvFile never overrides them).
 */
function loadDotEnv(): string | undefined {
  const path = resolve(process.env.INIT_CWD || process.cwd(), '.env');
  if (!existsSync(path)) return undefined;
  try {
    process.loadEnvFile(path);
  } catch (err) {
    throw new StartError(`could not read ${path}: ${(err as Error).message}`, 2);
  }
  return path;
}

/** Listening on a busy or forbidden port names the variable to change instead of printing a stack. */
async function listenOn<T>(variable: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      throw new StartError(`port ${port} is already in use: set ${variable} to a free port`, 1);
    }
    if (code === 'EACCES') {
      throw new StartError(
        `no permission to listen on port ${port}: set ${variable} to a port above 1023`,
        1,
      );
    }
    throw err;
  }
}

/** What the service calls, never the key: provider, base URL without userinfo or query, model. */
function llmLines(config: Config, sim: SimServer | undefined): string[] {
  const { provider, baseUrl, model, apiKey } = config.llm;
  const where = baseUrl === undefined ? 'no base URL' : safeUrl(baseUrl);
  const lines = [
    `  LLM: provider ${provider}, base URL ${where}, model ${model}${sim ? ` — simulated, switch faults with POST ${sim.url}/_sim/mode` : ''}`,
  ];
  if (provider !== 'sim' && apiKey === undefined) {
    lines.push(
      `  warning: LLM_API_KEY is not set; provider ${provider} usually needs one (calls will fail with 401 unless the endpoint is open)`,
    );
  }
  const fallback = config.llm.fallback;
  if (fallback) {
    const at = fallback.baseUrl === undefined ? 'no base URL' : safeUrl(fallback.baseUrl);
    lines.push(
      `  secondary model (breaker "llm-fallback"): provider ${fallback.provider}, base URL ${at}, model ${fallback.model}`,
    );
    if (fallback.provider !== 'sim' && fallback.apiKey === undefined) {
      lines.push(`  warning: LLM_FALLBACK_API_KEY is not set for provider ${fallback.provider}`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const envFile = loadDotEnv();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new StartError(`configuration error: ${err.message}`, 2);
    throw err;
  }

  // The embedded sim serves the primary and, with LLM_FALLBACK_PROVIDER=sim, the secondary model too.
  let sim: SimServer | undefined;
  const embedded = [config.llm, config.llm.fallback].filter(
    (m) => m !== undefined && m.provider === 'sim' && m.baseUrl === undefined,
  );
  if (embedded.length > 0) {
    sim = await listenOn('SIM_PORT', config.simPort, () =>
      startSim({ port: config.simPort, host: '127.0.0.1' }),
    );
    for (const m of embedded) if (m) m.baseUrl = sim.url;
  }

  let app: App;
  try {
    app = await createApp(config);
  } catch (err) {
    await sim?.close().catch(() => {});
    // An unreachable database or a failed migration is one clear line, not a stack trace.
    if (err instanceof DatabaseUnavailableError || err instanceof MigrationError) {
      throw new StartError(err.message, 3);
    }
    throw err;
  }
  let address: string;
  try {
    address = await listenOn('PORT', config.port, () =>
      app.server.listen({ port: config.port, host: config.host }),
    );
  } catch (err) {
    // Nothing was served: no telemetry worth waiting for a collector over.
    await app.close({ flushTelemetry: false }).catch(() => {});
    await sim?.close().catch(() => {});
    throw err;
  }
  const lines = [
    `AssistantService listening on ${address}`,
    ...llmLines(config, sim),
    `  database: ${
      config.databaseUrl
        ? `PostgreSQL ${redactDatabaseUrl(config.databaseUrl)} (users, documents${config.redisUrl ? '' : ', job queue'})`
        : `SQLite ${config.databasePath}`
    }${envFile ? `   settings from ${envFile}` : ''}`,
    `  API docs: ${address}/docs   dashboard: ${address}/dashboard   metrics: ${address}/metrics`,
  ];
  if (config.redisUrl) {
    lines.push(
      `  Redis: ${redactRedisUrl(config.redisUrl)} (shared breaker state, L2 answer cache, BullMQ job queue)`,
    );
  }
  if (config.otel) {
    const { endpoint, serviceName, metricIntervalMs } = config.otel;
    lines.push(
      `  OpenTelemetry: OTLP/HTTP to ${safeUrl(endpoint)} as service "${serviceName}" (breaker metrics every ${metricIntervalMs / 1000} s, a span per model call)`,
    );
  }
  if (app.demo)
    lines.push(`  demo mode: use "Authorization: Bearer ${DEMO_TOKEN}" (user "demo", sample sermons loaded)`);
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.server.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Past the grace non-streamed requests get (then aborted), with room for the rest of the stop.
    const force = setTimeout(() => process.exit(1), config.http.shutdownGraceMs + 5_000);
    force.unref();
    await app.close();
    await sim?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof StartError) {
    console.error(`AssistantService cannot start: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(1);
});
