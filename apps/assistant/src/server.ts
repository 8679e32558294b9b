import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { BreakerRegistry } from 'tripswitch';
import type { HttpLimits } from './config.js';
import type { Assistant } from './domain/assistant.js';
import type { Authenticator } from './domain/authenticator.js';
import { type Storage, StorageUnavailableError } from './domain/storage.js';
import type { JobQueue } from './domain/types.js';
import type { FailureTracker } from './observability/failures.js';
import { logCompletedRequest } from './observability/logging.js';
import type { ServiceMetrics } from './observability/metrics.js';
import { assistantRoutes } from './routes/assistant.js';
import { identifyUser } from './routes/auth.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';
import { httpError } from './routes/http-error.js';

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
  /** Connection timeouts and cap (see config.ts for the defaults). */
  http: HttpLimits;
  /** Last failure of each breaker: its kind is public on /health/circuit-breakers. */
  failures: FailureTracker;
  /** Extra route plugins (the dashboard registers itself here). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The router's limit on one path parameter (UTF-16 units); schemas bound them more tightly, in code points. */
const MAX_PARAM_LENGTH = 1024;

/** Paths polled by monitors: never rate limited. */
function isPoll(url: string): boolean {
  return url.startsWith('/health') || url === '/metrics' || url.startsWith('/metrics?');
}

/**
 * Hardening headers on every response (DESIGN 3.3): no MIME sniffing, no framing, no referrer; answers to
 * authenticated requests (a valid user, or any credentials presented) are never stored by a cache.
 */
function hardenResponse(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
  if (!reply.hasHeader('content-security-policy')) {
    reply.header('content-security-policy', "frame-ancestors 'none'");
  }
  const credentials =
    request.user !== undefined ||
    request.headers.authorization !== undefined ||
    request.headers['x-admin-token'] !== undefined;
  if (credentials) reply.header('cache-control', 'no-store');
}

/** The Fastify app: logging, limits, OpenAPI at /docs, and the route plugins. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const limits = deps.http;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per completed request (logCompletedRequest), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A client that dribbles its headers or body, or sits idle, cannot hold a socket (DESIGN 3.3). Node
    // checks the header and request deadlines every `connectionsCheckingInterval` ms.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    // Close idle keep-alive sockets on shutdown so in-flight requests finish and the process exits.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Path parameters are bounded by their schemas (in code points); the router's own limit counts UTF-16
    // units and would refuse, with a 414, ids the schema accepts (100 emoji are 200 units).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (a path parameter over MAX_PARAM_LENGTH: 414; a malformed percent-escape: 400)
    // otherwise carry a hand-written label ("Bad Request" on the 414) and the whole path.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const message =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`
          : error.code === 'FST_ERR_BAD_URL'
            ? 'the URL path is not valid percent-encoded UTF-8'
            : 'the request could not be routed';
      // These replies skip the route hooks (onSend included): the hardening headers are set here.
      hardenResponse(request, reply);
      return reply.code(status).send(httpError(status, message));
    },
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

  app.server.maxConnections = limits.maxConnections;

  // Rate limit, before any other work on every route (unknown ones included): the first root hook finds
  // the caller, the second charges the request to that user's allowance, or to the client address when
  // the token is missing or wrong, so guessing tokens (valid-looking or not) is throttled like anything
  // else and rotating made-up tokens earns no fresh allowance. Route-level 401s come after both.
  await app.register(rateLimit, {
    global: false,
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.user ? `user:${req.user.id}` : `ip:${req.ip}`),
    allowList: (req) => isPoll(req.url),
  });
  app.addHook('onRequest', identifyUser(deps.auth));
  app.addHook('onRequest', app.rateLimit());

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.request(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onResponse', logCompletedRequest);

  // Errors that carry an HTTP status (validation — the schema's or the domain's DomainValidationError —,
  // body limits, load shedding) keep their own message; anything else is a bug and answers a bare 500.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const known = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode <= 599;
    const status = known ? (error.statusCode as number) : 500;
    if (!known) request.log.error({ err: error }, 'request failed');
    if (error instanceof StorageUnavailableError) {
      request.log.warn({ err: (error.cause as Error)?.message }, 'database unavailable');
      reply.header('Retry-After', '5');
    }
    return reply.code(status).send(httpError(status, known ? error.message : 'internal error'));
  });

  // Unknown routes: the path only — Fastify's default message echoes the query string, and with it any
  // token a client put there.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(httpError(404, `Route ${request.method}:${request.url.split('?')[0]} not found`)),
  );

  // Graceful shutdown: once closing, every response asks its client to close the connection, so
  // keep-alive sockets that were busy when close began do not hold the server open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    hardenResponse(request, reply);
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  await app.register(healthRoutes, {
    storage: deps.storage,
    registry: deps.registry,
    failures: deps.failures,
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    reply.type(deps.metrics.register.contentType);
    return deps.metrics.register.metrics();
  });
  await app.register(assistantRoutes, {
    assistant: deps.assistant,
    queue: deps.queue,
    shutdownGraceMs: limits.shutdownGraceMs,
  });
  await app.register(documentRoutes, { documents: deps.storage.documents });
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
