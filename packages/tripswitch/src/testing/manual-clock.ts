import type { Clock } from '../core/types.js';

/**
 * A clock that moves only when told to. Pass it as the breaker's `clock` option to test time-based
 * behaviour (open duration, windows, half-open timeout) without waiting.
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    if (!Number.isFinite(start))
      throw new TypeError(`ManualClock start must be a finite number, got ${start}`);
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`advance(ms): ms must be a finite number >= 0, got ${ms}`);
    this.#now += ms;
    return this.#now;
  }
  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new TypeError(`set(ms): ms must be a finite number, got ${ms}`);
    this.#now = ms;
  }
}
