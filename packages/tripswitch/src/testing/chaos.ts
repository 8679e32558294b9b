/**
 * Fault injection (what Polly's Simmy gives .NET): a policy that makes the calls it wraps fail, slow down,
 * hang or sit in an outage, so breakers, fallbacks and dashboards can be exercised on purpose.
 *
 * Time: outage windows are read from `clock` (a `ManualClock` moves them without waiting). Added latency
 * and hangs use real timers and the call's signal, because what they test — a breaker's `timeout`, a
 * bulkhead filling up — runs on real timers too.
 */
import {
  type CallContext,
  type Clock,
  defaultContext,
  monotonicClock,
  type Operation,
  type Policy,
} from '../core/types.js';
import { operationError, syncAnswer } from '../core/user-code.js';
import { HttpStatusError } from '../http/errors.js';

export type ChaosFault = 'error' | 'outage';

/** An injected failure: a 503 by default, so `isHttpFailure` counts it like a real server error. */
export class ChaosError extends HttpStatusError {
  override readonly name: string = 'ChaosError';
  constructor(readonly fault: ChaosFault) {
    super(503, {
      statusText: 'Service Unavailable',
      message: fault === 'outage' ? 'chaos: injected outage (503)' : 'chaos: injected fault (503)',
    });
  }
}

export interface ChaosLatency {
  /** Added delay in ms, or a [min, max] range drawn uniformly. */
  readonly ms: number | readonly [min: number, max: number];
  /** Share of calls delayed, 0..1 (default 1). */
  readonly rate?: number;
}

/** A window on the policy's clock during which every call fails; `start` inclusive, `end` exclusive. */
export interface ChaosOutage {
  readonly start: number;
  readonly end: number;
}

export interface ChaosOptions {
  /** false → every call goes straight through, untouched (default true). */
  readonly enabled?: boolean;
  /** Share of calls that fail with the injected error, 0..1 (default 0). */
  readonly errorRate?: number;
  /** Makes the injected error; default `new ChaosError(fault)`, a 503. */
  readonly error?: (fault: ChaosFault) => Error;
  readonly latency?: ChaosLatency;
  /** Share of calls that never settle until their signal aborts, 0..1 (default 0). */
  readonly hangRate?: number;
  /** Outage windows on `clock`, or a predicate of the clock's time. */
  readonly outages?: readonly ChaosOutage[] | ((now: number) => boolean);
  /**
   * Time source for outage windows (default `monotonicClock`: epoch ms at start-up that never step with the
   * system clock, so a window set from `Date.now()` keeps its length).
   */
  readonly clock?: Clock;
  /** Source of randomness in [0, 1) (default `Math.random`; see `seededRandom`). */
  readonly random?: () => number;
}

/** Presets for `setMode`, named after the simulated LLM's modes. */
export type ChaosMode = 'healthy' | 'error' | 'flaky' | 'slow' | 'hang' | 'outage';

export interface ChaosModeOptions {
  /** Share of calls affected (default: 1, or 0.5 for 'flaky'). */
  readonly rate?: number;
  /** Delay for 'slow' (default 1000 ms). */
  readonly latencyMs?: number;
}

export interface ChaosStats {
  /** Calls seen by the policy. */
  readonly calls: number;
  /** Calls handed to the wrapped function. */
  readonly passed: number;
  /** Injected errors (outside outages). */
  readonly errors: number;
  /** Calls failed because an outage window was active. */
  readonly outages: number;
  readonly hangs: number;
  /** Calls that received added latency. */
  readonly delays: number;
}

interface Config {
  enabled: boolean;
  errorRate: number;
  error: (fault: ChaosFault) => Error;
  latency: ChaosLatency | undefined;
  hangRate: number;
  outages: readonly ChaosOutage[] | ((now: number) => boolean) | undefined;
  clock: Clock;
  random: () => number;
}

const defaultError = (fault: ChaosFault): Error => new ChaosError(fault);

function checkRate(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(`chaos: ${name} must be a number in [0, 1], got ${String(value)}`);
  }
  return value;
}

function checkMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`chaos: ${name} must be a finite number of ms >= 0, got ${String(value)}`);
  }
  return value;
}

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw new TypeError(`chaos: ${name} must be a function`);
}

/** Validates a full configuration; returns a private copy so later caller mutations cannot leak in. */
function resolve(o: ChaosOptions): Config {
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') {
    throw new TypeError(`chaos: enabled must be a boolean, got ${String(o.enabled)}`);
  }
  const errorRate = checkRate('errorRate', o.errorRate ?? 0);
  const hangRate = checkRate('hangRate', o.hangRate ?? 0);
  const error = o.error ?? defaultError;
  checkFunction('error', error);
  const random = o.random ?? Math.random;
  checkFunction('random', random);
  const clock = o.clock ?? monotonicClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw new TypeError('chaos: clock must be an object with a now() method');
  }
  let latency: ChaosLatency | undefined;
  if (o.latency !== undefined) {
    const rate = checkRate('latency.rate', o.latency.rate ?? 1);
    const ms = o.latency.ms;
    if (Array.isArray(ms)) {
      const [min, max] = ms as readonly unknown[];
      checkMs('latency.ms[0]', min);
      checkMs('latency.ms[1]', max);
      if ((max as number) < (min as number) || ms.length !== 2) {
        throw new RangeError(
          `chaos: latency.ms must be [min, max] with 0 <= min <= max, got [${ms.join(', ')}]`,
        );
      }
      latency = { ms: [min as number, max as number], rate };
    } else {
      latency = { ms: checkMs('latency.ms', ms), rate };
    }
  }
  let outages: Config['outages'];
  if (typeof o.outages === 'function') {
    outages = o.outages;
  } else if (Array.isArray(o.outages)) {
    outages = o.outages.map((w: ChaosOutage, i: number) => {
      const { start, end } = w ?? ({} as ChaosOutage);
      if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
        throw new RangeError(`chaos: outages[${i}] must have finite start < end, got ${JSON.stringify(w)}`);
      }
      return { start, end };
    });
  } else if (o.outages !== undefined) {
    throw new TypeError('chaos: outages must be an array of { start, end } or a function (now) => boolean');
  }
  return { enabled: o.enabled ?? true, errorRate, error, latency, hangRate, outages, clock, random };
}

function toOptions(c: Config): ChaosOptions {
  return { ...c };
}

/** Waits `ms` on a real timer; the call's signal cuts it short with the signal's reason. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done, fail) => {
    if (signal === undefined) {
      setTimeout(done, ms);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never settles unless the signal aborts (then rejects with its reason). No timer is held. */
function hang(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, fail) => {
    if (signal?.aborted) fail(signal.reason);
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

/**
 * The fault-injection policy. Per call, in this order: an active outage fails the call; otherwise added
 * latency may delay it, a hang may hold it until its signal aborts, and an injected error may fail it;
 * only then is the wrapped function called. Each decision draws from `random` only when its rate is set.
 * Options are read once per call, so `update`/`setMode` take effect on the next call.
 */
export class ChaosPolicy implements Policy {
  #config: Config;
  #calls = 0;
  #passed = 0;
  #errors = 0;
  #outages = 0;
  #hangs = 0;
  #delays = 0;

  constructor(options: ChaosOptions = {}) {
    this.#config = resolve(options);
  }

  /** The current configuration (a copy). */
  get options(): ChaosOptions {
    return toOptions(this.#config);
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** Changes some options live; a key given as `undefined` goes back to its default (no fault). */
  update(options: Partial<ChaosOptions>): this {
    this.#config = resolve({ ...toOptions(this.#config), ...options });
    return this;
  }

  setEnabled(enabled: boolean): this {
    return this.update({ enabled });
  }

  /**
   * Replaces all faults with a preset and enables the policy ('healthy' clears them). Keeps `error`,
   * `clock` and `random`. 'outage' is an open-ended outage until the next `setMode`/`update`.
   */
  setMode(mode: ChaosMode, options: ChaosModeOptions = {}): this {
    const base: Partial<ChaosOptions> = {
      enabled: true,
      errorRate: undefined,
      hangRate: undefined,
      latency: undefined,
      outages: undefined,
    };
    switch (mode) {
      case 'healthy':
        return this.update(base);
      case 'error':
        return this.update({ ...base, errorRate: options.rate ?? 1 });
      case 'flaky':
        return this.update({ ...base, errorRate: options.rate ?? 0.5 });
      case 'slow':
        return this.update({ ...base, latency: { ms: options.latencyMs ?? 1000, rate: options.rate ?? 1 } });
      case 'hang':
        return this.update({ ...base, hangRate: options.rate ?? 1 });
      case 'outage':
        return this.update({ ...base, outages: () => true });
      default:
        throw new RangeError(
          `chaos: mode must be one of healthy, error, flaky, slow, hang, outage; got ${String(mode)}`,
        );
    }
  }

  /** Whether an outage window is active at `now` (default: the policy's clock). */
  inOutage(now: number = this.#config.clock.now()): boolean {
    const outages = this.#config.outages;
    if (outages === undefined) return false;
    if (typeof outages === 'function') return syncAnswer('chaos outages', outages(now)) === true;
    for (const w of outages) if (now >= w.start && now < w.end) return true;
    return false;
  }

  stats(): ChaosStats {
    return {
      calls: this.#calls,
      passed: this.#passed,
      errors: this.#errors,
      outages: this.#outages,
      hangs: this.#hangs,
      delays: this.#delays,
    };
  }

  resetStats(): void {
    this.#calls = this.#passed = this.#errors = this.#outages = this.#hangs = this.#delays = 0;
  }

  async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    const misuse = operationError(fn, signal, 'chaos.execute');
    if (misuse !== undefined) throw misuse;
    const c = this.#config;
    this.#calls++;
    const ctx: CallContext = signal === undefined ? defaultContext : { signal, attempt: 1 };
    if (!c.enabled) {
      this.#passed++;
      return await fn(ctx);
    }
    signal?.throwIfAborted();
    if (this.inOutage(c.clock.now())) {
      this.#outages++;
      throw c.error('outage');
    }
    if (c.latency !== undefined && this.#roll(c.latency.rate ?? 1)) {
      const ms = this.#pickDelay(c.latency.ms);
      this.#delays++;
      if (ms > 0) await sleep(ms, signal);
    }
    if (this.#roll(c.hangRate)) {
      this.#hangs++;
      await hang(signal);
    }
    if (this.#roll(c.errorRate)) {
      this.#errors++;
      throw c.error('error');
    }
    this.#passed++;
    return await fn(ctx);
  }

  #roll(rate: number): boolean {
    return rate > 0 && this.#config.random() < rate;
  }

  #pickDelay(ms: number | readonly [number, number]): number {
    if (typeof ms === 'number') return ms;
    const [min, max] = ms;
    return min === max ? min : min + this.#config.random() * (max - min);
  }
}

/** Creates a fault-injection policy; see `ChaosPolicy`. */
export function chaos(options: ChaosOptions = {}): ChaosPolicy {
  return new ChaosPolicy(options);
}
