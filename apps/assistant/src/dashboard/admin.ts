import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BreakerRegistry, CircuitBreaker } from 'tripswitch';

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
  const error = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found';
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="tripswitch-dashboard"');
  return reply.code(status).send({ statusCode: status, error, message });
}

export interface AdminRoutesOptions {
  registry: BreakerRegistry;
  /** Undefined: actions are disabled and always answer 403. */
  adminToken: string | undefined;
  /** Called after every applied action (the SSE hub pushes a fresh snapshot). */
  onAction?: () => void;
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
        if (adminToken === undefined) {
          return refuse(reply, 403, 'operator actions are disabled: ADMIN_TOKEN is not set');
        }
        const presented = presentedAdminToken(request);
        if (presented === undefined) return refuse(reply, 401, 'admin token required');
        if (!adminTokenMatches(presented, adminToken)) {
          request.log.warn({ action }, 'dashboard action refused: wrong admin token');
          return refuse(reply, 403, 'admin token rejected');
        }
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
}
