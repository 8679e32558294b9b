/**
 * `tripswitch/prometheus`: `circuit_breaker_*` metrics through prom-client (`prom-client` peer).
 * @module tripswitch/prometheus
 */
import { Counter, register as defaultRegister, Gauge, Histogram, type Registry } from 'prom-client';
import type { CircuitBreaker } from '../core/breaker.js';
import type { CircuitState } from '../core/types.js';
import { STATE_VALUES } from '../integrations/state-values.js';
import type { BreakerRegistry } from '../registry.js';

export interface BreakerMetricsOptions {
  /** prom-client registry to register the metrics in. Default: prom-client's global registry. */
  register?: Registry;
  /** Metric name prefix. Default `circuit_breaker`. */
  prefix?: string;
  /** Histogram buckets for call duration, in seconds. */
  durationBuckets?: number[];
}

export { STATE_VALUES };

const STATES = Object.keys(STATE_VALUES) as CircuitState[];
const OUTCOMES = ['success', 'failure', 'rejected', 'ignored'] as const;
const TIMED_OUTCOMES = ['success', 'failure'] as const;

/**
 * Prometheus metrics for any number of breakers. Kept apart from the state machine: it only listens to
 * events, and reads `state` when Prometheus scrapes (which also performs a due OPEN -> HALF-OPEN move).
 *
 * Metrics (label `breaker_name`): `_state` gauge, `_failures_total`, `_openings_total`, `_rejections_total`,
 * `_calls_total{outcome}`, `_state_changes_total{from,to}`, `_store_degraded` gauge, `_call_duration_seconds`
 * histogram (filled when the breaker measures latency: `recordLatency: true`).
 *
 * A breaker's series live exactly as long as it is tracked: `track()`'s stop function (and a registry
 * eviction or deletion, with `trackRegistry`) removes every label set carrying its name.
 */
export class BreakerMetrics {
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #detach = new Map<string, () => void>();
  readonly #failures: Counter<'breaker_name'>;
  readonly #openings: Counter<'breaker_name'>;
  readonly #rejections: Counter<'breaker_name'>;
  readonly #calls: Counter<'breaker_name' | 'outcome'>;
  readonly #changes: Counter<'breaker_name' | 'from' | 'to'>;
  readonly #duration: Histogram<'breaker_name' | 'outcome'>;
  readonly #stateGauge: Gauge<'breaker_name'>;
  readonly #degradedGauge: Gauge<'breaker_name'>;

  constructor(options: BreakerMetricsOptions = {}) {
    const registers = [options.register ?? defaultRegister];
    const p = options.prefix ?? 'circuit_breaker';
    const labelNames = ['breaker_name'] as const;
    const breakers = this.#breakers;
    this.#stateGauge = new Gauge({
      name: `${p}_state`,
      help: 'Circuit state: 0 closed, 1 open, 2 half-open, 3 isolated, 4 disabled',
      labelNames,
      registers,
      collect() {
        for (const [name, b] of breakers) this.set({ breaker_name: name }, STATE_VALUES[b.state]);
      },
    });
    this.#degradedGauge = new Gauge({
      name: `${p}_store_degraded`,
      help: '1 when the breaker state store (e.g. Redis) is unreachable and the breaker runs on local state',
      labelNames,
      registers,
      collect() {
        for (const [name, b] of breakers)
          this.set({ breaker_name: name }, b.store.status === 'degraded' ? 1 : 0);
      },
    });
    this.#failures = new Counter({
      name: `${p}_failures_total`,
      help: 'Calls that counted as failures',
      labelNames,
      registers,
    });
    this.#openings = new Counter({
      name: `${p}_openings_total`,
      help: 'Transitions into OPEN',
      labelNames,
      registers,
    });
    this.#rejections = new Counter({
      name: `${p}_rejections_total`,
      help: 'Calls rejected by an open or busy half-open circuit',
      labelNames,
      registers,
    });
    this.#calls = new Counter({
      name: `${p}_calls_total`,
      help: 'Calls by outcome: success, failure, rejected, ignored',
      labelNames: ['breaker_name', 'outcome'],
      registers,
    });
    this.#changes = new Counter({
      name: `${p}_state_changes_total`,
      help: 'State transitions',
      labelNames: ['breaker_name', 'from', 'to'],
      registers,
    });
    this.#duration = new Histogram({
      name: `${p}_call_duration_seconds`,
      help: 'Duration of calls that ran through the breaker',
      labelNames: ['breaker_name', 'outcome'],
      buckets: options.durationBuckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  /** Start reporting a breaker; returns the function that stops. Tracking the same name twice replaces it. */
  track(breaker: CircuitBreaker): () => void {
    const name = breaker.name;
    // Replacing: the previous tracking stops listening, but the series stay (they are this name's).
    const previous = this.#detach.get(name);
    this.#detach.delete(name);
    previous?.();
    const labels = { breaker_name: name };
    // Zero-initialise so dashboards see the series before the first event.
    this.#failures.inc(labels, 0);
    this.#openings.inc(labels, 0);
    this.#rejections.inc(labels, 0);
    const detach = breaker.addListener({
      success: (_b, ms) => {
        this.#calls.inc({ ...labels, outcome: 'success' });
        if (ms !== undefined) this.#duration.observe({ ...labels, outcome: 'success' }, ms / 1000);
      },
      failure: (_b, _err, ms) => {
        this.#failures.inc(labels);
        this.#calls.inc({ ...labels, outcome: 'failure' });
        if (ms !== undefined) this.#duration.observe({ ...labels, outcome: 'failure' }, ms / 1000);
      },
      rejected: () => {
        this.#rejections.inc(labels);
        this.#calls.inc({ ...labels, outcome: 'rejected' });
      },
      ignored: () => this.#calls.inc({ ...labels, outcome: 'ignored' }),
      stateChange: (_b, from, to) => {
        this.#changes.inc({ ...labels, from, to });
        if (to === 'open' || to === 'isolated') this.#openings.inc(labels);
      },
    });
    this.#breakers.set(name, breaker);
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      detach();
      // A replaced tracking (same name tracked again) must not delete the new one's series.
      if (this.#detach.get(name) !== stop) return;
      this.#breakers.delete(name);
      this.#detach.delete(name);
      this.#forget(name);
    };
    this.#detach.set(name, stop);
    return stop;
  }

  /** Stop reporting the breaker called `name` (removing its series); false if it was not tracked. */
  untrack(name: string): boolean {
    const stop = this.#detach.get(name);
    stop?.();
    return stop !== undefined;
  }

  /**
   * Track every breaker of a registry, those it holds now and those it creates later, and untrack each one it
   * evicts or deletes (its series go with it). Returns the function that stops following the registry.
   */
  trackRegistry(registry: BreakerRegistry): () => void {
    for (const breaker of registry.list()) this.track(breaker);
    const offCreate = registry.onCreate((breaker) => this.track(breaker));
    const offRemove = registry.onRemove((breaker) => {
      if (this.#breakers.get(breaker.name) === breaker) this.untrack(breaker.name);
    });
    return () => {
      offCreate();
      offRemove();
    };
  }

  /** Removes every label set of `name` from every metric (prom-client removes exact label sets only). */
  #forget(name: string): void {
    const labels = { breaker_name: name };
    this.#stateGauge.remove(labels);
    this.#degradedGauge.remove(labels);
    this.#failures.remove(labels);
    this.#openings.remove(labels);
    this.#rejections.remove(labels);
    for (const outcome of OUTCOMES) this.#calls.remove({ ...labels, outcome });
    for (const outcome of TIMED_OUTCOMES) this.#duration.remove({ ...labels, outcome });
    for (const from of STATES) for (const to of STATES) this.#changes.remove({ ...labels, from, to });
  }
}
