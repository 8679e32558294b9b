// Log lines operators can act on, with nothing secret in them: errors with their class, message and cause
// chain; one line per completed request (health and metrics polls at debug); every line through the
// scrubber on its way out.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import { classifyError } from 'tripswitch/http';
import { sliceCodePoints, toWellFormed } from '../domain/text.js';
import { redactQuery, type Scrubber } from './scrub.js';

/** Secrets never reach the logs: tokens, API keys, cookies (the scrubber catches what slips past). */
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

/** One error as logged: `{ type, message, code?, status?, kind?, cause?: [...] }`. */
export interface LoggedError {
  type: string;
  message: string;
  code?: string;
  status?: number;
  /** The `tripswitch/http` classification reason (`connection_refused`, `server_error`, …). */
  kind?: string;
  /** The `cause` chain, outermost first (bounded). */
  cause?: LoggedError[];
}

const MAX_CAUSES = 8;
const MAX_MESSAGE = 1000;

/** A message as logged: at most MAX_MESSAGE code points, unpaired surrogates (upstream's own) as U+FFFD. */
function messageOf(text: string): string {
  return toWellFormed(sliceCodePoints(text, MAX_MESSAGE));
}

function one(err: unknown): LoggedError {
  if (!(err instanceof Error)) {
    if (typeof err === 'object' && err !== null) {
      const e = err as { name?: unknown; message?: unknown; code?: unknown };
      return {
        type: typeof e.name === 'string' ? e.name : 'Object',
        message: typeof e.message === 'string' ? messageOf(e.message) : '',
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
      };
    }
    return { type: typeof err, message: messageOf(String(err)) };
  }
  const e = err as Error & { code?: unknown; status?: unknown; statusCode?: unknown };
  const out: LoggedError = {
    type: e.name || e.constructor?.name || 'Error',
    message: messageOf(e.message),
  };
  if (typeof e.code === 'string') out.code = e.code;
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status === 'number') out.status = status;
  return out;
}

/**
 * What a thrown value becomes in a log line: its class, message, code/status, classification reason and
 * `cause` chain (so `fetch failed` shows the `ECONNREFUSED 127.0.0.1:9`, `ENOTFOUND` or certificate error
 * under it). No stack for upstream failures; a stack only for errors that are our bugs (see `withStack`).
 */
export function describeError(err: unknown, withStack = false): LoggedError & { stack?: string } {
  const top: LoggedError & { stack?: string } = one(err);
  const reason = classifyError(err).reason;
  if (reason !== 'unknown') top.kind = reason;
  const causes: LoggedError[] = [];
  const seen = new Set<unknown>([err]);
  let next = (err as { cause?: unknown } | null)?.cause;
  while (next !== undefined && next !== null && !seen.has(next) && causes.length < MAX_CAUSES) {
    seen.add(next);
    causes.push(one(next));
    next = (next as { cause?: unknown }).cause;
  }
  if (causes.length > 0) top.cause = causes;
  if (withStack && err instanceof Error && typeof err.stack === 'string') top.stack = err.stack;
  return top;
}

export interface LoggerOptions {
  level: string;
  scrubber: Scrubber;
  /** Where lines go (default stdout). */
  stream?: DestinationStream | undefined;
}

/** The service's pino logger: redacted header paths, the error shape above, every line scrubbed. */
export function createLogger(options: LoggerOptions): Logger {
  const { scrubber } = options;
  const config = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (err: unknown) => describeError(err, true),
      req: (req: { method?: string; url?: string; id?: unknown }) => ({
        method: req.method,
        url: typeof req.url === 'string' ? redactQuery(req.url) : req.url,
      }),
    },
    // The last line of defence: whatever a line carries, configured secrets and credential-shaped text
    // are replaced before it is written.
    hooks: { streamWrite: (line: string) => scrubber.scrub(line) },
  };
  return options.stream ? pino(config, options.stream) : pino(config);
}

/** Routes polled by monitors: their request lines are logged at debug, not info. */
function isPoll(url: string): boolean {
  return url.startsWith('/health') || url === '/metrics' || url.startsWith('/metrics?');
}

/** onResponse hook: one line per completed request (method, path without query values, status, ms). */
export async function logCompletedRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const entry = {
    req: { method: request.method, url: redactQuery(request.url) },
    res: { statusCode: reply.statusCode },
    responseTime: Math.round(reply.elapsedTime * 10) / 10,
    ...(request.user ? { user: request.user.id } : {}),
  };
  if (isPoll(request.url)) request.log.debug(entry, 'request completed');
  else request.log.info(entry, 'request completed');
}
