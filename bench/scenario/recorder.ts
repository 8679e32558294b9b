/**
 * Instrumentation inside the service process (one per variant): event-loop delay, memory, the protection
 * layer's state over time and every call that actually went upstream, with the state it went out in.
 * Exposed as a Fastify plugin on `/_bench/*` for the driver.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { LlmAnswer, LlmClient, LlmRequest } from '../../apps/assistant/src/adapters/llm/types.js';

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** [time, state] */
export type StateChange = [number, string];
/** [time, state the protection was in when the call went out] */
export type UpstreamCall = [number, string];

export interface LoopStats {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface ServiceStats {
  t: number;
  eventLoop: LoopStats;
  rssMb: number;
  peakRssMb: number;
  upstreamCalls: number;
  /** CPU time (user + system) the process has used so far, ms. */
  cpuMs: number;
}

export interface ServiceTimeline {
  states: StateChange[];
  calls: UpstreamCall[];
}

const MB = 1024 * 1024;

export class Recorder {
  readonly states: StateChange[] = [];
  readonly calls: UpstreamCall[] = [];
  #stateOf: () => string = () => 'unknown';
  #sampler: NodeJS.Timeout | undefined;
  readonly #loop = monitorEventLoopDelay({ resolution: 10 });

  /** The client the protection layer calls: records each upstream call, then forwards it. */
  countingClient(inner: LlmClient): LlmClient {
    return {
      provider: inner.provider,
      model: inner.model,
      complete: (req: LlmRequest): Promise<LlmAnswer> => {
        this.calls.push([epochMs(), this.#stateOf()]);
        return inner.complete(req);
      },
      close: async () => {
        await inner.close?.();
      },
    };
  }

  /**
   * Samples the state every `everyMs`; a state shorter than that may be missed, which is why upstream calls
   * carry their own state.
   */
  start(stateOf: () => string, everyMs = 5): void {
    this.#stateOf = stateOf;
    this.#loop.enable();
    const sample = () => {
      const state = stateOf();
      if (this.states.at(-1)?.[1] !== state) this.states.push([epochMs(), state]);
    };
    sample();
    this.#sampler = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.#sampler);
    this.#loop.disable();
  }

  /** Event-loop delay since the last reset (when asked), memory now and at peak. */
  stats(reset: boolean): ServiceStats {
    const h = this.#loop;
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    const out: ServiceStats = {
      t: epochMs(),
      eventLoop: {
        p50Ms: ms(h.percentile(50)),
        p99Ms: ms(h.percentile(99)),
        maxMs: ms(h.max),
        meanMs: ms(h.mean),
      },
      rssMb: process.memoryUsage.rss() / MB,
      peakRssMb: (process.resourceUsage().maxRSS * 1024) / MB,
      upstreamCalls: this.calls.length,
      cpuMs: (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      })(),
    };
    if (reset) h.reset();
    return out;
  }

  timeline(): ServiceTimeline {
    return { states: this.states, calls: this.calls };
  }

  /** GET /_bench/stats[?reset=1] and GET /_bench/timeline. */
  plugin(): (app: FastifyInstance) => Promise<void> {
    return async (app) => {
      app.get<{ Querystring: { reset?: string } }>('/_bench/stats', { schema: { hide: true } }, async (req) =>
        this.stats(req.query.reset === '1'),
      );
      app.get('/_bench/timeline', { schema: { hide: true } }, async () => this.timeline());
    };
  }
}
