import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { BreakerMetrics } from 'tripswitch/prometheus';
import type { FallbackReason } from '../domain/llm-gateway.js';
import type { FallbackLevel, JobQueue } from '../domain/types.js';

/** `partial`: a streamed answer that failed after its first token (the client got an `error` event). */
export type AnswerSource = FallbackLevel | 'llm' | 'fresh_cache' | 'unavailable' | 'partial';

/**
 * Every metric the service exports, in one registry: the library's breaker metrics (pinned names
 * `circuit_breaker_*`), HTTP requests, and which rung of the ladder answered.
 */
export class ServiceMetrics {
  readonly register = new Registry();
  readonly breakers: BreakerMetrics;
  readonly #responses: Counter<'level' | 'reason'>;
  readonly #requests: Histogram<'method' | 'route' | 'status'>;

  constructor(options: { queue?: JobQueue; defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.register });
    this.breakers = new BreakerMetrics({ register: this.register });
    this.#responses = new Counter({
      name: 'assistant_responses_total',
      help: 'Query responses by the ladder rung that produced them (llm, fresh_cache, l1_cache, l2_cache, excerpts, queued, unavailable)',
      labelNames: ['level', 'reason'],
      registers: [this.register],
    });
    this.#requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.register],
    });
    const queue = options.queue;
    if (queue) {
      new Gauge({
        name: 'assistant_jobs',
        help: 'Queued jobs by status',
        labelNames: ['status', 'queue'],
        registers: [this.register],
        async collect() {
          const counts = await queue.counts().catch(() => null);
          if (!counts) return;
          for (const [status, n] of Object.entries(counts)) this.set({ status, queue: queue.kind }, n);
        },
      });
    }
  }

  answered(level: AnswerSource, reason?: FallbackReason): void {
    this.#responses.inc({ level, reason: reason ?? 'none' });
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.observe({ method, route, status: String(status) }, seconds);
  }

  /** Responses by level so far (the dashboard's fallback mix). */
  async responseMix(): Promise<Record<string, number>> {
    const mix: Record<string, number> = {};
    const metric = await this.#responses.get();
    for (const v of metric.values) {
      const level = String(v.labels.level);
      mix[level] = (mix[level] ?? 0) + v.value;
    }
    return mix;
  }
}
