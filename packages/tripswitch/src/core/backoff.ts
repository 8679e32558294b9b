import type { OpenDurationContext } from './options.js';

export interface ExponentialOpenDurationOptions {
  /** First open period in ms. */
  initial: number;
  /** Longest open period in ms. */
  max: number;
  /** Growth per consecutive opening. Default 2. */
  multiplier?: number;
  /** Fraction of the period randomised (0 = none, 1 = full jitter). Default 0.2. */
  jitter?: number;
  random?: () => number;
}

/**
 * An `openDuration` function for a provider that stays down: each failed probe doubles the wait, up to
 * `max`, with jitter so a fleet of instances does not probe in lockstep.
 */
export function exponentialOpenDuration(
  options: ExponentialOpenDurationOptions,
): (ctx: OpenDurationContext) => number {
  const { initial, max } = options;
  const multiplier = options.multiplier ?? 2;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  if (!(Number.isFinite(initial) && initial > 0))
    throw new RangeError(`initial must be a number of ms > 0, got ${initial}`);
  if (!(Number.isFinite(max) && max >= initial))
    throw new RangeError(`max must be a number of ms >= initial, got ${max}`);
  if (!(Number.isFinite(multiplier) && multiplier >= 1))
    throw new RangeError(`multiplier must be >= 1, got ${multiplier}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be in [0, 1], got ${jitter}`);
  return ({ openings }) => {
    const base = Math.min(max, initial * multiplier ** Math.max(0, openings - 1));
    return base * (1 - jitter) + base * jitter * random();
  };
}
