// `npm start`: the AssistantService on embedded defaults (SQLite, in-memory breaker state and cache,
// the bundled sample corpus) and, when no LLM is configured, the simulated LLM beside it.
import { DatabaseUnavailableError, MigrationError, redactDatabaseUrl } from './adapters/postgres/index.js';
import { redactRedisUrl } from './adapters/redis/connection.js';
import { type App, createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DEMO_TOKEN } from './domain/auth.js';
import { type SimServer, startSim } from './sim/server.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  let sim: SimServer | undefined;
  if (config.llm.provider === 'sim' && config.llm.baseUrl === undefined) {
    sim = await startSim({ port: config.simPort, host: '127.0.0.1' });
    config.llm.baseUrl = sim.url;
  }

  let app: App;
  try {
    app = await createApp(config);
  } catch (err) {
    if (err instanceof DatabaseUnavailableError || err instanceof MigrationError) {
      console.error(`start-up failed: ${err.message}`);
      await sim?.close();
      process.exit(3);
    }
    throw err;
  }
  const address = await app.server.listen({ port: config.port, host: config.host });
  const lines = [
    `AssistantService listening on ${address}`,
    `  LLM: ${config.llm.provider} (${config.llm.model})${sim ? ` — simulated at ${sim.url}, switch faults with POST ${sim.url}/_sim/mode` : ''}`,
    `  API docs: ${address}/docs   dashboard: ${address}/dashboard   metrics: ${address}/metrics`,
  ];
  lines.push(
    config.databaseUrl
      ? `  Database: PostgreSQL ${redactDatabaseUrl(config.databaseUrl)} (users, documents${config.redisUrl ? '' : ', job queue'})`
      : `  Database: SQLite ${config.databasePath}`,
  );
  if (config.redisUrl) {
    lines.push(
      `  Redis: ${redactRedisUrl(config.redisUrl)} (shared breaker state, L2 answer cache, BullMQ job queue)`,
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
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await app.close();
    await sim?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
