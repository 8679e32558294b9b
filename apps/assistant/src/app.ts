import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { BreakerRegistry, type CircuitBreaker, loggingListener, type StateStore } from 'tripswitch';
import { LruAnswerCache } from './adapters/cache/answer-cache.js';
import { cachedSearch, PassageCache } from './adapters/cache/passage-cache.js';
import { openSqliteStorage } from './adapters/db/sqlite-storage.js';
import { createLlmClient } from './adapters/llm/index.js';
import { openPostgres, redactDatabaseUrl } from './adapters/postgres/index.js';
import { StoreJobQueue } from './adapters/queue/store-queue.js';
import { withRedis } from './adapters/redis/redis-mode.js';
import type { Config, LlmModelConfig } from './config.js';
import { seedSampleCorpus } from './corpus/seed.js';
import { dashboardPlugin } from './dashboard/index.js';
import { Assistant } from './domain/assistant.js';
import { DEMO_USER, resolveTokens } from './domain/auth.js';
import { Authenticator } from './domain/authenticator.js';
import type { SharedAnswerCache } from './domain/cache.js';
import type { LlmClient } from './domain/llm.js';
import {
  anyModelGate,
  type LlmBreakerSettings,
  LlmGateway,
  llmBreakerOptions,
  type ModelPort,
} from './domain/llm-gateway.js';
import type { QueueFactory } from './domain/queue-port.js';
import type { Storage } from './domain/storage.js';
import type { JobQueue, ModelGate } from './domain/types.js';
import { FailureTracker } from './observability/failures.js';
import { createLogger } from './observability/logging.js';
import { ServiceMetrics } from './observability/metrics.js';
import { Scrubber } from './observability/scrub.js';
import { buildServer } from './server.js';

/** Name of the model provider's breaker in health output, metrics and the dashboard. */
export const LLM_BREAKER = 'llm';
/** Name of the secondary model's breaker (LLM_FALLBACK_*). */
export const LLM_FALLBACK_BREAKER = 'llm-fallback';

export interface AppOptions {
  /** Replace the LLM client. */
  llmClient?: LlmClient;
  /** Replace the secondary model's client (used only when LLM_FALLBACK_PROVIDER is set). */
  fallbackClient?: LlmClient;
  /**
   * Replace the protection around the model (the scenario benchmark compares none/opossum/cockatiel with
   * tripswitch). Default: `LlmGateway` (retry → bulkhead → tripswitch breaker).
   */
  modelPort?: (client: LlmClient, settings: LlmBreakerSettings & { maxConcurrent: number }) => ModelPort;
  /** Extra Fastify plugins (dashboard). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Shared pieces for Redis mode, built by the caller. */
  sharedCache?: SharedAnswerCache;
  queueFactory?: QueueFactory;
  breakerStore?: StateStore;
  /** Where log lines go (default stdout); tests capture them here. */
  logStream?: DestinationStream;
}

export interface App {
  server: FastifyInstance;
  /** Users, documents and (unless Redis holds them) jobs: SQLite, or PostgreSQL with DATABASE_URL. */
  storage: Storage;
  /**
   * Token → user, with the service's one memory of recent answers. Change users through its `ensureUsers`
   * (not `storage.users`), so a revoked token stops working on this instance at once.
   */
  auth: Authenticator;
  registry: BreakerRegistry;
  gateway: ModelPort;
  /** The model provider's tripswitch breaker (idle when a `modelPort` replaces the protection). */
  breaker: CircuitBreaker;
  /** The secondary model behind its own breaker (`llm-fallback`), when LLM_FALLBACK_PROVIDER is set. */
  secondary: LlmGateway | undefined;
  assistant: Assistant;
  queue: JobQueue;
  metrics: ServiceMetrics;
  /** True when ASSISTANT_TOKENS is unset and the demo token is active. */
  demo: boolean;
  /**
   * Graceful stop: stop accepting, end open answer streams, let other in-flight requests finish, stop the
   * worker, close the database, send the last telemetry (`flushTelemetry: false` — a start that failed —
   * drops it instead of waiting for the collector).
   */
  close(options?: { flushTelemetry?: boolean }): Promise<void>;
}

/**
 * The secrets the service was configured with: API keys, admin token, user tokens, Redis/PostgreSQL passwords,
 * OTLP header values (OTEL_EXPORTER_OTLP_HEADERS usually carries the collector's credentials).
 */
function configuredSecrets(config: Config, entries: ReadonlyArray<{ token: string }>): string[] {
  const secrets = [
    config.llm.apiKey,
    config.llm.fallback?.apiKey,
    config.adminToken,
    ...entries.map((e) => e.token),
    ...Object.values(config.otel?.headers ?? {}),
  ];
  for (const url of [config.redisUrl, config.databaseUrl, config.otel?.endpoint]) {
    if (!url) continue;
    try {
      const password = new URL(url).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      // An unparseable URL is refused when its store starts.
    }
  }
  return secrets.filter((s): s is string => s !== undefined && s !== '');
}

/**
 * The model breakers' settings from the configuration (BREAKER_*, LLM_TIMEOUT_MS and, for streamed calls,
 * LLM_FIRST_TOKEN_TIMEOUT_MS / LLM_STREAM_IDLE_TIMEOUT_MS); `name` is the primary's breaker, the secondary
 * model's breaker takes the same settings under LLM_FALLBACK_BREAKER.
 */
export function llmBreakerSettings(config: Config): LlmBreakerSettings {
  return {
    name: LLM_BREAKER,
    failMax: config.breaker.failMax,
    openMs: config.breaker.openMs,
    failWindowMs: config.breaker.failWindowMs,
    timeoutMs: config.llm.timeoutMs,
    firstTokenMs: config.llm.firstTokenTimeoutMs,
    idleMs: config.llm.streamIdleTimeoutMs,
  };
}

/** The composition root: builds every part of the service from its configuration. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const tokens = resolveTokens(config.tokens);
  // Every secret the service knows is scrubbed from log lines and from upstream text shown to admins.
  const scrubber = new Scrubber(configuredSecrets(config, tokens.entries));
  const logger = createLogger({ level: config.logLevel, scrubber, stream: options.logStream });
  const storage = await openStorage(config, logger);
  const auth = new Authenticator(storage.users);
  try {
    await auth.ensureUsers(tokens.entries);
    if (tokens.demo) await seedSampleCorpus(storage.documents, DEMO_USER);
  } catch (err) {
    await storage.close();
    throw err;
  }

  // REDIS_URL: shared breaker state, L2 answer cache and BullMQ queue (unless the caller brought its own).
  const redis = config.redisUrl ? withRedis(config.redisUrl, options, logger) : undefined;
  if (redis) options = { ...options, ...redis.pieces };
  const registry = new BreakerRegistry({
    defaults: options.breakerStore ? { store: options.breakerStore } : {},
  });
  // OTEL_EXPORTER_OTLP_ENDPOINT: every breaker's metrics and a span per model call over OTLP. The adapter (and
  // with it the OpenTelemetry SDK) is imported only then: unset, nothing of it is loaded.
  const telemetry = config.otel
    ? (await import('./adapters/telemetry/otel.js')).startTelemetry(config.otel, { registry, logger })
    : undefined;
  const tracer = telemetry?.tracer;
  const client = options.llmClient ?? clientFor(config.llm, config.llm.maxConcurrent);
  const settings = llmBreakerSettings(config);
  const breaker = registry.get(LLM_BREAKER, {
    ...llmBreakerOptions(settings),
    listeners: [loggingListener(logger)],
  });
  const failures = new FailureTracker(registry, scrubber);
  const gatewayLimits = { maxConcurrent: config.llm.maxConcurrent, maxWaitMs: config.llm.queueWaitMs };
  const gateway: ModelPort =
    options.modelPort?.(client, { ...settings, maxConcurrent: config.llm.maxConcurrent }) ??
    new LlmGateway(client, breaker, { ...gatewayLimits, tracer });
  // The secondary model: its own client, its own breaker in the registry (health, metrics, dashboard).
  const fallback = config.llm.fallback;
  const secondary = fallback
    ? new LlmGateway(
        options.fallbackClient ?? clientFor(fallback, config.llm.maxConcurrent),
        registry.get(LLM_FALLBACK_BREAKER, {
          ...llmBreakerOptions({ ...settings, name: LLM_FALLBACK_BREAKER }),
          listeners: [loggingListener(logger)],
        }),
        { ...gatewayLimits, tracer },
      )
    : undefined;
  // Queued jobs wait only while no model would take a call.
  const gate: ModelGate = secondary ? anyModelGate([breaker, secondary.breaker]) : breaker;

  // The worker answers queued jobs through the assistant's model-only path (defined just below).
  // Longer than the worst case of one job: two attempts (one retry) of a full timeout, plus margin.
  const leaseMs = config.llm.timeoutMs * 2 + 35_000;
  const run = (userId: string, query: string, signal: AbortSignal) =>
    assistant.answerFromModel(userId, query, signal);
  const queue =
    options.queueFactory?.({ storage, run, breaker: gate, leaseMs, logger }) ??
    new StoreJobQueue({ store: storage.jobs, kind: storage.kind, run, breaker: gate, leaseMs, logger });
  const metrics = new ServiceMetrics({ queue });
  // Every breaker of the registry (the LLM breaker and llm-fallback included); keyed ones that are evicted
  // take their metric series with them.
  metrics.breakers.trackRegistry(registry);

  const assistant: Assistant = new Assistant({
    llm: gateway,
    secondary,
    // Repeated questions (users retrying during an outage) skip the search while the documents stay put.
    retrieve: cachedSearch(
      (userId, query, limit) => storage.documents.searchPassages(userId, query, limit),
      (userId) => storage.documents.documentsVersion(userId),
      new PassageCache(),
    ),
    documentsVersion: (userId) => storage.documents.documentsVersion(userId),
    cache: new LruAnswerCache(config.cache),
    sharedCache: options.sharedCache,
    queue,
    onAnswer: (level, reason) => metrics.answered(level, reason),
    defaultRetryAfterMs: config.breaker.openMs,
    staleTtlMs: config.cache.staleTtlMs,
  });

  const server = await buildServer({
    logger,
    storage,
    auth,
    assistant,
    queue,
    registry,
    metrics,
    rateLimitPerMinute: config.rateLimitPerMinute,
    http: config.http,
    failures,
    plugins: [
      dashboardPlugin({
        registry,
        metrics,
        adminToken: config.adminToken,
        maxClients: config.dashboard.maxStreams,
        maxClientsPerAddress: config.dashboard.maxStreamsPerClient,
        lastFailure: (name, recorded) => failures.get(name, recorded),
      }),
      ...(options.plugins ?? []),
    ],
  });
  queue.start();

  let closed = false;
  return {
    server,
    storage,
    auth,
    registry,
    gateway,
    breaker,
    secondary,
    assistant,
    queue,
    metrics,
    demo: tokens.demo,
    async close({ flushTelemetry = true } = {}) {
      if (closed) return;
      closed = true;
      await server.close();
      failures.close();
      await queue.stop();
      await gateway.close();
      await secondary?.close();
      await options.sharedCache?.close?.();
      await redis?.close();
      await storage.close();
      // Last: the spans of calls that just finished are flushed (bounded wait if the collector is away).
      await telemetry?.shutdown({ flush: flushTelemetry });
    },
  };
}

/**
 * `connections`: the gateway's bulkhead bound (LLM_MAX_CONCURRENT), so every request it lets through gets a
 * socket at once: a request waiting in the pool would run on its timeout without reaching the provider.
 */
function clientFor(model: LlmModelConfig, connections: number): LlmClient {
  return createLlmClient({
    provider: model.provider,
    connections,
    ...(model.baseUrl ? { baseUrl: model.baseUrl } : {}),
    ...(model.apiKey ? { apiKey: model.apiKey } : {}),
    model: model.model,
  });
}

/** DATABASE_URL → PostgreSQL (no SQLite file is created); otherwise the SQLite file at DATABASE_PATH. */
async function openStorage(config: Config, logger: Logger): Promise<Storage> {
  if (config.databaseUrl === undefined) return openSqliteStorage(config.databasePath);
  const log = logger.child({ database: redactDatabaseUrl(config.databaseUrl) });
  let lastWarn = 0;
  return openPostgres(config.databaseUrl, {
    max: config.database.poolMax,
    statementTimeoutMs: config.database.statementTimeoutMs,
    onError: (err) => {
      // An idle connection lost (server restart, network): the pool reconnects on the next query.
      const now = Date.now();
      if (now - lastWarn < 10_000) return;
      lastWarn = now;
      log.warn({ err: err.message }, 'PostgreSQL connection lost');
    },
  });
}
