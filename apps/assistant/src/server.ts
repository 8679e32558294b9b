import { STATUS_CODES } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BreakerRegistry } from 'tripswitch';
import type { Assistant } from './domain/assistant.js';
import { parseBearer } from './domain/auth.js';
import type { Authenticator } from './domain/authenticator.js';
import { type Storage, StorageUnavailableError } from './domain/storage.js';
import type { JobQueue } from './domain/types.js';
import type { ServiceMetrics } from './observability/metrics.js';
import { assistantRoutes } from './routes/assistant.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';

export interface ServerDeps {
  /** Users, documents and jobs (SQLite or PostgreSQL); readiness asks it. */
  storage: Storage;
  auth: Authenticator;
  assistant: Assistant;
  queue: JobQueue;
  registry: BreakerRegistry;
  metrics: ServiceMetrics;
  logger: Logger;
  rateLimitPerMinute: number;
  /** Extra route plugins (the dashboard registers itself here). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

/** Secrets never reach the logs: tokens, API keys, cookies. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-admin-token"]',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
];

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The Fastify app: logging, limits, OpenAPI at /docs, and the route plugins. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Close idle keep-alive sockets on shutdown so in-flight requests finish and the process exits.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // No type coercion: `{"query": 42}` is a 400, not the question "42" (query strings are parsed by routes).
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: false } },
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'AssistantService',
        description:
          'An LLM assistant over your documents that keeps answering when its model provider fails',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Shed load instead of queueing without bound when the event loop falls behind.
  await app.register(underPressure, {
    maxEventLoopDelay: 2000,
    retryAfter: 5,
    message: 'The service is under pressure; retry shortly.',
    exposeStatusRoute: false,
  });

  // Per-user rate limit; requests without a valid token share their IP's allowance, so rotating
  // made-up tokens earns no fresh allowance.
  await app.register(rateLimit, {
    global: true,
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: async (req) => {
      const token = parseBearer(req.headers.authorization);
      // A store outage is the route's to report; here it only means "not known to be a user".
      const user = token === null ? null : await deps.auth.authenticate(token).catch(() => null);
      return user ? `user:${user.id}` : `ip:${req.ip}`;
    },
    allowList: (req) => req.url.startsWith('/health') || req.url === '/metrics',
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.request(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  // Errors that carry an HTTP status (validation, body limits, load shedding) keep their own message;
  // anything else is a bug and answers a bare 500.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    const known = error.statusCode !== undefined;
    if (!known) request.log.error({ err: error }, 'request failed');
    if (error instanceof StorageUnavailableError) {
      request.log.warn({ err: (error.cause as Error)?.message }, 'database unavailable');
      reply.header('Retry-After', '5');
    }
    return reply.code(status).send({
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: known ? error.message : 'internal error',
    });
  });

  // Graceful shutdown: once closing, every response asks its client to close the connection, so
  // keep-alive sockets that were busy when close began do not hold the server open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  await app.register(healthRoutes, { storage: deps.storage, registry: deps.registry });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    reply.type(deps.metrics.register.contentType);
    return deps.metrics.register.metrics();
  });
  await app.register(assistantRoutes, { auth: deps.auth, assistant: deps.assistant, queue: deps.queue });
  await app.register(documentRoutes, { auth: deps.auth, documents: deps.storage.documents });
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
