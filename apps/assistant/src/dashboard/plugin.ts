import type { FastifyInstance, FastifyReply } from 'fastify';
import { type BreakerRegistry, type BreakerSnapshot, type Clock, systemClock } from 'tripswitch';
import { FailureTracker, type LastFailure } from '../observability/failures.js';
import { Scrubber } from '../observability/scrub.js';
import { httpError } from '../routes/http-error.js';
import { registerAdminRoutes } from './admin.js';
import { CONTENT_SECURITY_POLICY, loadAssets } from './assets.js';
import { BreakerRecorder } from './recorder.js';
import { SseHub } from './sse.js';
import { MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, STATE_CODES } from './timeline.js';
import { breakerView, type DashboardSnapshot } from './view.js';

export interface DashboardOptions {
  registry: BreakerRegistry;
  /** Source of the fallback mix (`ServiceMetrics` has it); without it the mix is empty. */
  metrics?: { responseMix(): Promise<Record<string, number>> } | undefined;
  /** Operator token (ADMIN_TOKEN). Undefined: the page is read-only and actions answer 403. */
  adminToken?: string | undefined;
  /** ms between snapshots on the event stream. Default 1000, range [100, 60000]. */
  intervalMs?: number;
  /** ms between heartbeat comments. Default 15000, range [1000, 300000]. */
  heartbeatMs?: number;
  /** Concurrent event-stream clients; more get 503. Default 20, range [1, 1000]. */
  maxClients?: number;
  /** Concurrent event-stream clients from one address; more get 429. Default 4, range [1, 1000]. */
  maxClientsPerAddress?: number;
  /**
   * The last failure of a breaker (kind for the public stream, scrubbed message for the admin API).
   * Default: the plugin follows the registry itself, scrubbing with the admin token as the known secret.
   */
  lastFailure?: (name: string, recorded: boolean) => LastFailure | null;
  /** Seconds of timeline kept per breaker. Default 600, range [60, 3600]. */
  windowSeconds?: number;
  /** Breakers shown at most (open/half-open/isolated first). Default 100, range [1, 10000]. */
  maxBreakers?: number;
  /** A client this far behind (unsent bytes) is dropped. Default 1 MiB, range [64 KiB, 64 MiB]. */
  maxBufferedBytes?: number;
  clock?: Clock;
}

export type DashboardPlugin = ((app: FastifyInstance) => Promise<void>) & {
  /** Event-stream clients connected right now (0 before registration). */
  clients(): number;
};

function checkInt(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`dashboard ${option} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

interface Collected {
  at: number;
  snaps: BreakerSnapshot[];
  hidden: number;
  mix: Record<string, number>;
}

/** Breakers that are protecting callers right now come first when not all of them fit. */
const ATTENTION: ReadonlySet<string> = new Set(['open', 'half-open', 'isolated']);

/**
 * The live circuit dashboard as a Fastify plugin:
 * - `GET /dashboard` and `/dashboard/assets/*`: the page (self-contained HTML/CSS/JS);
 * - `GET /dashboard/events`: Server-Sent Events — `snapshot` every `intervalMs`, `state` at once on every
 *   state change, heartbeat comments;
 * - `POST /dashboard/api/breakers/:name/{isolate,close,reset}`: operator actions behind the admin token.
 */
export function dashboardPlugin(options: DashboardOptions): DashboardPlugin {
  if (options === null || typeof options !== 'object' || options.registry === undefined) {
    throw new TypeError('dashboard registry is required (a tripswitch BreakerRegistry)');
  }
  if (
    options.adminToken !== undefined &&
    (typeof options.adminToken !== 'string' || options.adminToken === '')
  ) {
    throw new TypeError('dashboard adminToken must be a non-empty string or undefined');
  }
  const intervalMs = checkInt('intervalMs', options.intervalMs, 1000, 100, 60_000);
  const heartbeatMs = checkInt('heartbeatMs', options.heartbeatMs, 15_000, 1000, 300_000);
  const maxClients = checkInt('maxClients', options.maxClients, 20, 1, 1000);
  const maxClientsPerAddress = checkInt('maxClientsPerAddress', options.maxClientsPerAddress, 4, 1, 1000);
  const windowSeconds = checkInt(
    'windowSeconds',
    options.windowSeconds,
    600,
    MIN_WINDOW_SECONDS,
    MAX_WINDOW_SECONDS,
  );
  const maxBreakers = checkInt('maxBreakers', options.maxBreakers, 100, 1, 10_000);
  const maxBufferedBytes = checkInt(
    'maxBufferedBytes',
    options.maxBufferedBytes,
    1024 * 1024,
    64 * 1024,
    64 * 1024 * 1024,
  );
  const { registry, metrics, adminToken } = options;
  const clock = options.clock ?? systemClock;
  let hub: SseHub<Collected> | undefined;

  const plugin = async (app: FastifyInstance): Promise<void> => {
    const assets = loadAssets();
    const recorder = new BreakerRecorder(registry, { seconds: windowSeconds, clock });
    let lastFailure = options.lastFailure;
    if (lastFailure === undefined) {
      const tracker = new FailureTracker(registry, new Scrubber([adminToken]));
      app.addHook('onClose', async () => tracker.close());
      lastFailure = (name, recorded) => tracker.get(name, recorded);
    }
    const kindOf = lastFailure;

    const collect = async (): Promise<Collected> => {
      let snaps = registry.snapshots();
      let hidden = 0;
      if (snaps.length > maxBreakers) {
        const urgent = snaps.filter((s) => ATTENTION.has(s.state));
        const calm = snaps.filter((s) => !ATTENTION.has(s.state));
        hidden = snaps.length - maxBreakers;
        snaps = [...urgent, ...calm].slice(0, maxBreakers);
      }
      let mix: Record<string, number> = {};
      try {
        mix = (await metrics?.responseMix()) ?? {};
      } catch (err) {
        app.log.warn({ err }, 'dashboard: fallback mix unavailable');
      }
      return { at: clock.now(), snaps, hidden, mix };
    };

    const render = (
      data: Collected,
      client: { seen: Set<string> },
    ): DashboardSnapshot & { hidden: number } => {
      const shown = new Set<string>();
      const breakers = data.snaps.map((snap) => {
        shown.add(snap.name);
        return breakerView(snap, recorder, data.at, !client.seen.has(snap.name), kindOf);
      });
      // Forget breakers no longer shown, so a long-lived stream does not accumulate names.
      client.seen.clear();
      for (const name of shown) client.seen.add(name);
      return {
        at: data.at,
        states: STATE_CODES,
        windowSeconds,
        intervalMs,
        admin: adminToken !== undefined,
        breakers,
        hidden: data.hidden,
        mix: data.mix,
      };
    };

    const events = new SseHub<Collected>({
      maxClients,
      maxClientsPerAddress,
      intervalMs,
      heartbeatMs,
      maxBufferedBytes,
      collect,
      render,
      onError: (err) => app.log.error({ err }, 'dashboard: snapshot failed'),
    });
    hub = events;
    const offState = recorder.onStateChange((change) => {
      events.broadcast('state', change);
      events.refreshSoon();
    });

    // Open streams would hold server.close() forever: end them before the server stops listening.
    app.addHook('preClose', async () => events.close());
    app.addHook('onClose', async () => {
      offState();
      recorder.close();
      events.close();
    });

    const page = (file: 'index.html' | 'dashboard.css' | 'dashboard.js') => {
      const asset = assets[file];
      return async (_req: unknown, reply: FastifyReply) =>
        reply
          .header('content-type', asset.type)
          .header('content-security-policy', CONTENT_SECURITY_POLICY)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('cache-control', 'no-cache')
          .send(asset.body);
    };
    const hide = { schema: { hide: true } };
    app.get(
      '/dashboard',
      { schema: { summary: 'Live circuit-breaker dashboard (HTML)', hide: true } },
      page('index.html'),
    );
    app.get('/dashboard/', hide, async (_req, reply) => reply.redirect('/dashboard', 308));
    app.get('/dashboard/assets/dashboard.css', hide, page('dashboard.css'));
    app.get('/dashboard/assets/dashboard.js', hide, page('dashboard.js'));

    app.get('/dashboard/events', hide, async (request, reply) => {
      // HEAD: the stream's headers, no stream (a HEAD must not hold a connection open).
      if (request.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
      const refusal = events.refusal(request.ip);
      if (refusal === 'address') {
        request.log.warn({ clients: events.size }, 'dashboard stream refused: too many from one address');
        return reply
          .code(429)
          .header('retry-after', '5')
          .send(
            httpError(429, `too many dashboard streams from this address (at most ${maxClientsPerAddress})`),
          );
      }
      if (refusal === 'full') {
        return reply.code(503).header('retry-after', '5').send(httpError(503, 'too many dashboard streams'));
      }
      reply.hijack();
      events.accept(reply.raw, request.ip);
      request.log.debug({ clients: events.size }, 'dashboard stream opened');
      return reply;
    });

    registerAdminRoutes(app, {
      registry,
      adminToken,
      onAction: () => events.refreshSoon(),
      lastFailure: kindOf,
    });
  };

  return Object.assign(plugin, { clients: () => hub?.size ?? 0 });
}
