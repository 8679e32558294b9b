import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BreakerRegistry, CircuitBreaker } from 'tripswitch';
import type { LastFailure } from '../observability/failures.js';
import { httpError } from '../routes/http-error.js';

/** What an operator may do to a breaker from the dashboard. */
export type AdminAction = 'isolate' | 'close' | 'reset';
export const ADMIN_ACTIONS: readonly AdminAction[] = ['isolate', 'close', 'reset'];

/** Longer presented tokens are refused before hashing. */
const MAX_TOKEN_LENGTH = 512;

/** The token from `Authorization: Bearer <t>` or `X-Admin-Token: <t>`; undefined when neither is present. */
export function presentedAdminToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (match?.[1] !== undefined) return match[1];
  }
  const header = request.headers['x-admin-token'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value === '' ? undefined : value.trim();
}

/**
 * Constant-time comparison: both sides are hashed to 32 bytes first, so neither the content nor the length
 * of the real token leaks through timing.
 */
export function adminTokenMatches(presented: string, expected: string): boolean {
  if (presented.length > MAX_TOKEN_LENGTH) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function apply(breaker: CircuitBreaker, action: AdminAction): void {
  if (action === 'isolate') breaker.isolate();
  else if (action === 'close') breaker.close();
  else breaker.reset();
}

function refuse(reply: FastifyReply, status: 401 | 403 | 404, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="tripswitch-dashboard"');
  return reply.code(status).send(httpError(status, message));
}

export interface AdminRoutesOptions {
  registry: BreakerRegistry;
  /** Undefined: actions are disabled and always answer 403. */
  adminToken: string | undefined;
  /** Called after every applied action (the SSE hub pushes a fresh snapshot). */
  onAction?: () => void;
  /** The last failure of a breaker, its message scrubbed of secrets (for `GET /dashboard/api/breakers`). */
  lastFailure?: (name: string, recorded: boolean) => LastFailure | null;
}

/**
 * The admin check shared by every admin route, in an order that leaks nothing to a caller without the
 * token: disabled (403), no token (401), wrong token (403). Returns true when the caller may proceed;
 * otherwise the refusal has been sent.
 */
async function authorize(
  request: FastifyRequest,
  reply: FastifyReply,
  adminToken: string | undefined,
  what: string,
): Promise<boolean> {
  if (adminToken === undefined) {
    await refuse(reply, 403, 'operator actions are disabled: ADMIN_TOKEN is not set');
    return false;
  }
  const presented = presentedAdminToken(request);
  if (presented === undefined) {
    await refuse(reply, 401, 'admin token required');
    return false;
  }
  if (!adminTokenMatches(presented, adminToken)) {
    request.log.warn({ action: what }, 'dashboard action refused: wrong admin token');
    await refuse(reply, 403, 'admin token rejected');
    return false;
  }
  return true;
}

/**
 * `POST /dashboard/api/breakers/:name/{isolate,close,reset}`. Checks run in this order so nothing about the
 * breakers leaks to a caller without the token: disabled (403), no token (401), wrong token (403), unknown
 * breaker (404). Every applied action is logged at warn with the breaker, the action and the new state.
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  const { registry, adminToken } = options;
  for (const action of ADMIN_ACTIONS) {
    app.post<{ Params: { name: string } }>(
      `/dashboard/api/breakers/:name/${action}`,
      {
        schema: {
          summary: `Operator action on a breaker: ${action}`,
          hide: true,
          params: {
            type: 'object',
            properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
            required: ['name'],
          },
        },
      },
      async (request, reply) => {
        if (!(await authorize(request, reply, adminToken, action))) return reply;
        const { name } = request.params;
        if (!registry.has(name)) return refuse(reply, 404, `no breaker named "${name}"`);
        const breaker = registry.get(name);
        apply(breaker, action);
        const state = breaker.state;
        request.log.warn({ breaker: name, action, state }, 'dashboard operator action');
        options.onAction?.();
        const retryAfter = breaker.retryAfter;
        return {
          breaker: name,
          action,
          state,
          retry_after_ms: Number.isFinite(retryAfter) ? Math.ceil(retryAfter) : null,
        };
      },
    );
  }

  // The full detail behind the public `last_error_kind`: the last failure's class and message, scrubbed
  // of the configured secrets and credential-shaped text. Admin token required.
  app.get(
    '/dashboard/api/breakers',
    { schema: { summary: 'Every breaker with its last failure (admin)', hide: true } },
    async (request, reply) => {
      if (!(await authorize(request, reply, adminToken, 'detail'))) return reply;
      return {
        breakers: registry.snapshots().map((s) => ({
          name: s.name,
          state: s.state,
          fail_count: s.failCount,
          last_failure_at: s.lastFailureAt === null ? null : new Date(s.lastFailureAt).toISOString(),
          last_failure:
            options.lastFailure?.(s.name, s.lastFailureAt !== null || s.lastFailure !== null) ?? null,
        })),
      };
    },
  );
}
