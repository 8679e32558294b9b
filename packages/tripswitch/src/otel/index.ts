import {
  type Attributes,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ValueType,
} from '@opentelemetry/api';
import type { CircuitBreaker } from '../core/breaker.js';
import type { CircuitState } from '../core/types.js';
import { STATE_VALUES } from '../integrations/state-values.js';
import type { BreakerRegistry } from '../registry.js';

export interface BreakerMetricsOptions {
  /** Meter to create the instruments on. Default: `meterProvider.getMeter('tripswitch')`. */
  meter?: Meter;
  /** Used when `meter` is not given. Default: the global provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Instrument name prefix. Default `circuit_breaker` (a Prometheus exporter shows `circuit_breaker_…`). */
  prefix?: string;
  /** Explicit bucket boundaries for the call duration histogram, in seconds (an advisory to the SDK). */
  durationBuckets?: number[];
}

export { STATE_VALUES };

/** Cumulative figures of one tracked breaker, reported by the observable instruments at each collection. */
interface Tally {
  readonly breaker: CircuitBreaker;
  readonly attributes: Attributes;
  failures: number;
  openings: number;
  rejections: number;
  calls: Record<'success' | 'failure' | 'rejected' | 'ignored', number>;
  changes: Map<string, { from: CircuitState; to: CircuitState; count: number }>;
  detach: () => void;
}

/**
 * OpenTelemetry metrics for any number of breakers: the same instruments as `tripswitch/prometheus`
 * (through `@opentelemetry/api`, an optional peer dependency; bring your own SDK and exporter).
 *
 * Instruments (attribute `breaker_name`): `circuit_breaker.state` and `circuit_breaker.store_degraded`
 * gauges; `circuit_breaker.failures`, `.openings`, `.rejections`, `.calls{outcome}`,
 * `.state_changes{from,to}` counters; `circuit_breaker.call_duration` histogram in seconds (filled when the
 * breaker measures latency: `recordLatency: true` or `slowCall`).
 *
 * Every instrument except the histogram is asynchronous (observed at collection time from tallies kept
 * here), so when tracking stops — the stop function, or registry eviction calling it — the breaker's series
 * are no longer reported at all. The API has no way to delete histogram points already recorded; the SDK
 * keeps that series until the process restarts (with delta temporality it simply stops changing).
 */
export class BreakerMetrics {
  readonly #tallies = new Map<string, Tally>();
  readonly #duration: Histogram;

  constructor(options: BreakerMetricsOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const meter =
      options.meter ?? (options.meterProvider ?? metrics.getMeterProvider()).getMeter('tripswitch');
    const p = options.prefix ?? 'circuit_breaker';
    if (typeof p !== 'string' || !/^[A-Za-z][A-Za-z0-9_.\-/]{0,200}$/.test(p)) {
      throw new TypeError(
        `prefix must be a valid instrument name start (letters, digits, _ . - /), got ${String(p)}`,
      );
    }
    const tallies = this.#tallies;
    const int = { valueType: ValueType.INT };
    meter
      .createObservableGauge(`${p}.state`, {
        ...int,
        description: 'Circuit state: 0 closed, 1 open, 2 half-open, 3 isolated, 4 disabled',
      })
      .addCallback((result) => {
        for (const t of tallies.values()) result.observe(STATE_VALUES[t.breaker.state], t.attributes);
      });
    meter
      .createObservableGauge(`${p}.store_degraded`, {
        ...int,
        description:
          '1 when the breaker state store (e.g. Redis) is unreachable and the breaker runs on local state',
      })
      .addCallback((result) => {
        for (const t of tallies.values()) {
          result.observe(t.breaker.store.status === 'degraded' ? 1 : 0, t.attributes);
        }
      });
    const counter = (name: string, description: string, read: (t: Tally) => number) =>
      meter.createObservableCounter(`${p}.${name}`, { ...int, description }).addCallback((result) => {
        for (const t of tallies.values()) result.observe(read(t), t.attributes);
      });
    counter('failures', 'Calls that counted as failures', (t) => t.failures);
    counter('openings', 'Transitions into OPEN', (t) => t.openings);
    counter('rejections', 'Calls rejected by an open or busy half-open circuit', (t) => t.rejections);
    meter
      .createObservableCounter(`${p}.calls`, {
        ...int,
        description: 'Calls by outcome: success, failure, rejected, ignored',
      })
      .addCallback((result) => {
        for (const t of tallies.values()) {
          for (const [outcome, n] of Object.entries(t.calls)) result.observe(n, { ...t.attributes, outcome });
        }
      });
    meter
      .createObservableCounter(`${p}.state_changes`, { ...int, description: 'State transitions' })
      .addCallback((result) => {
        for (const t of tallies.values()) {
          for (const c of t.changes.values())
            result.observe(c.count, { ...t.attributes, from: c.from, to: c.to });
        }
      });
    this.#duration = meter.createHistogram(`${p}.call_duration`, {
      unit: 's',
      description: 'Duration of calls that ran through the breaker',
      advice: {
        explicitBucketBoundaries: options.durationBuckets ?? [
          0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
        ],
      },
    });
  }

  /** Breakers tracked now. */
  get tracked(): number {
    return this.#tallies.size;
  }

  /**
   * Track every breaker of a registry, those it holds now and those it creates later, and untrack each one it
   * evicts or deletes (it is no longer observed). Returns the function that stops following the registry.
   */
  trackRegistry(registry: BreakerRegistry): () => void {
    for (const breaker of registry.list()) this.track(breaker);
    const offCreate = registry.onCreate((breaker) => this.track(breaker));
    const offRemove = registry.onRemove((breaker) => {
      if (this.#tallies.get(breaker.name)?.breaker === breaker) this.untrack(breaker.name);
    });
    return () => {
      offCreate();
      offRemove();
    };
  }

  /** Stop reporting the breaker called `name`; false if it was not tracked. */
  untrack(name: string): boolean {
    const tally = this.#tallies.get(name);
    tally?.detach();
    return tally !== undefined;
  }

  /** Start reporting a breaker; returns the function that stops. Tracking the same name twice replaces it. */
  track(breaker: CircuitBreaker): () => void {
    const name = breaker.name;
    this.#tallies.get(name)?.detach();
    const attributes: Attributes = { breaker_name: name };
    const duration = this.#duration;
    const tally: Tally = {
      breaker,
      attributes,
      failures: 0,
      openings: 0,
      rejections: 0,
      calls: { success: 0, failure: 0, rejected: 0, ignored: 0 },
      changes: new Map(),
      detach: () => {},
    };
    const off = breaker.addListener({
      success: (_b, ms) => {
        tally.calls.success++;
        if (ms !== undefined) duration.record(ms / 1000, { ...attributes, outcome: 'success' });
      },
      failure: (_b, _err, ms) => {
        tally.failures++;
        tally.calls.failure++;
        if (ms !== undefined) duration.record(ms / 1000, { ...attributes, outcome: 'failure' });
      },
      rejected: () => {
        tally.rejections++;
        tally.calls.rejected++;
      },
      ignored: () => {
        tally.calls.ignored++;
      },
      stateChange: (_b, from, to) => {
        const key = `${from}>${to}`;
        const c = tally.changes.get(key);
        if (c === undefined) tally.changes.set(key, { from, to, count: 1 });
        else c.count++;
        if (to === 'open' || to === 'isolated') tally.openings++;
      },
    });
    tally.detach = () => {
      off();
      if (this.#tallies.get(name) === tally) this.#tallies.delete(name);
    };
    this.#tallies.set(name, tally);
    return tally.detach;
  }
}
