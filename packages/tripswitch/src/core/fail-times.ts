/**
 * The failure times of a breaker's current streak, kept only with `failWindow`: a ring of the last `failMax`
 * times (an older one can never matter: tripping needs `failMax` failures inside the window). The streak's
 * length stays with the breaker (its success path reads nothing else); this says how many of the streak's
 * failures are recent enough to count. O(1) to record, O(failMax) at most to read, fixed memory.
 */
export class FailureTimes {
  readonly #times: Float64Array;
  /** Slot the next failure goes to; the newest is just before it. */
  #head = 0;

  /** `size`: the most failures that can count (`failMax`); `windowMs`: how long one counts (`failWindow`). */
  constructor(
    size: number,
    readonly windowMs: number,
  ) {
    this.#times = new Float64Array(size);
  }

  /** A failure at `now` (breaker clock, ms); the oldest drops out once `size` are held. */
  record(now: number): void {
    this.#times[this.#head] = now;
    this.#head = (this.#head + 1) % this.#times.length;
  }

  /** The streak ended (a success, a transition): forget every time. */
  clear(): void {
    this.#head = 0;
  }

  /** How many of the streak's newest `streak` failures are still inside the window at `now`. */
  live(now: number, streak: number): number {
    const times = this.#times;
    const horizon = now - this.windowMs;
    const n = Math.min(streak, times.length);
    let live = 0;
    for (let k = 1; k <= n; k++) {
      if (this.#at(k) > horizon) live++;
      else break; // older entries are older still
    }
    return live;
  }

  /** The streak's newest `streak` times (at most `size`), oldest first: what a snapshot carries. */
  newest(streak: number): number[] {
    const out: number[] = [];
    for (let k = Math.min(streak, this.#times.length); k >= 1; k--) out.push(this.#at(k));
    return out;
  }

  /** Start from `times` (oldest first, breaker clock); only the newest `size` are kept. */
  restore(times: readonly number[]): void {
    const ring = this.#times;
    const kept = times.slice(-ring.length);
    kept.forEach((t, i) => {
      ring[i] = t;
    });
    this.#head = kept.length % ring.length;
  }

  /** The `k`-th newest time (1 = newest). */
  #at(k: number): number {
    const n = this.#times.length;
    return this.#times[(this.#head - k + n) % n]!;
  }
}
