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
] as const;
export type SimOutcome = (typeof SIM_OUTCOMES)[number];

export interface SimStats {
  requests: number;
  by_mode: Record<SimMode, number>;
  by_outcome: Record<SimOutcome, number>;
  in_flight: number;
  mode: SimMode;
}

function zeroed<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class SimCounters {
  requests = 0;
  inFlight = 0;
  private byMode = zeroed(SIM_MODES);
  private byOutcome = zeroed(SIM_OUTCOMES);

  arrived(mode: SimMode): void {
    this.requests++;
    this.byMode[mode]++;
    this.inFlight++;
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
  }

  snapshot(mode: SimMode): SimStats {
    return {
      requests: this.requests,
      by_mode: { ...this.byMode },
      by_outcome: { ...this.byOutcome },
      in_flight: this.inFlight,
      mode,
    };
  }
}
