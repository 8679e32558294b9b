// Counters behind `GET /_sim/stats`. Only model requests count; `/_sim/*` control calls never do.
import { SIM_MODES, type SimMode } from './modes.js';

export const SIM_OUTCOMES = [
  'ok',
  'error',
  'hang',
  'refused',
  'filtered',
  'loading',
  'ratelimited',
  'bad_request',
  'aborted',
  'stalled',
] as const;
export type SimOutcome = (typeof SIM_OUTCOMES)[number];

export interface SimStats {
  requests: number;
  by_mode: Record<SimMode, number>;
  by_outcome: Record<SimOutcome, number>;
  in_flight: number;
  mode: SimMode;
  /** Model requests per model name (the secondary model's traffic is told apart from the primary's). */
  by_model: Record<string, number>;
  /** Model requests that asked for a streamed reply. */
  streamed: number;
}

/** Distinct model names counted per model; past this, further names share one bucket. */
const MAX_MODEL_NAMES = 64;

function zeroed<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class SimCounters {
  requests = 0;
  inFlight = 0;
  private byMode = zeroed(SIM_MODES);
  private byOutcome = zeroed(SIM_OUTCOMES);
  private byModel = new Map<string, number>();
  private streamed = 0;

  arrived(): void {
    this.requests++;
    this.inFlight++;
  }

  /** The mode that decided a request's fate (its model's own mode, or the global one). */
  mode(mode: SimMode): void {
    this.byMode[mode]++;
  }

  /** Called once the request body is parsed and the model and streaming choice are known. */
  parsed(model: string, stream: boolean): void {
    const key = this.byModel.has(model) || this.byModel.size < MAX_MODEL_NAMES ? model : '(other)';
    this.byModel.set(key, (this.byModel.get(key) ?? 0) + 1);
    if (stream) this.streamed++;
  }

  left(): void {
    this.inFlight--;
  }

  outcome(o: SimOutcome): void {
    this.byOutcome[o]++;
  }

  /** Clears the totals; requests still in flight stay counted as in flight. */
  reset(): void {
    this.requests = 0;
    this.byMode = zeroed(SIM_MODES);
    this.byOutcome = zeroed(SIM_OUTCOMES);
    this.byModel.clear();
    this.streamed = 0;
  }

  snapshot(mode: SimMode): SimStats {
    return {
      requests: this.requests,
      by_mode: { ...this.byMode },
      by_outcome: { ...this.byOutcome },
      in_flight: this.inFlight,
      mode,
      by_model: Object.fromEntries(this.byModel),
      streamed: this.streamed,
    };
  }
}
