import type { FastifyPluginAsync } from 'fastify';
import type { BreakerRegistry } from 'tripswitch';
import type { Storage } from '../domain/storage.js';
import type { FailureTracker } from '../observability/failures.js';

interface Deps {
  storage: Storage;
  registry: BreakerRegistry;
  failures: FailureTracker;
}

/**
 * Health endpoints: breaker states (the seed guide's shape), liveness, readiness. They are public, so they
 * carry states, counts, times and the failure's classification only — never upstream text or URLs.
 */
export const healthRoutes: FastifyPluginAsync<Deps> = async (app, { storage, registry, failures }) => {
  app.get('/health/circuit-breakers', { schema: { summary: 'State of every circuit breaker' } }, async () => {
    const out: Record<string, unknown> = {};
    for (const s of registry.snapshots()) {
      out[s.name] = {
        state: s.state,
        fail_count: s.failCount,
        last_failure: s.lastFailureAt === null ? null : new Date(s.lastFailureAt).toISOString(),
        healthy: s.state === 'closed' || s.state === 'disabled',
        retry_after_ms: Number.isFinite(s.retryAfter) ? Math.round(s.retryAfter) : null,
        last_error_kind:
          failures.get(s.name, s.lastFailureAt !== null || s.lastFailure !== null)?.kind ?? null,
        store: s.store.kind,
        store_status: s.store.status,
      };
    }
    return out;
  });

  app.get('/health/live', { schema: { summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get(
    '/health/ready',
    { schema: { summary: 'The service can serve: its database answers' } },
    async (_req, reply) => {
      // ready() never throws and answers within the pool's connect timeout.
      if (!(await storage.ready())) {
        return reply.code(503).send({ status: 'unavailable', database: 'unusable', store: storage.kind });
      }
      return { status: 'ready', database: 'ok', store: storage.kind };
    },
  );
};
