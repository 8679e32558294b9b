/**
 * A count-based window of call outcomes: the last `size` calls, whatever their age (resilience4j's default
 * `COUNT_BASED` sliding window). A ring of one byte per call plus running totals: recording is O(1) (the
 * outcome that falls out is subtracted), reading the totals is O(1), memory is fixed at construction.
 *
 * It has the same shape as the time-based `SlidingWindow` (`record(now, failed, slow)`, `totals(now)`,
 * `clear()`), so the breaker's trip rule and stats read either one the same way; `now` is ignored here.
 */
import type { WindowSnapshotCount } from './snapshot.js';

const FAILED = 1;
const SLOW = 2;

export class CountWindow {
  readonly size: number;
  readonly #ring: Uint8Array;
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
      throw new RangeError(`count window size must be an integer in [1, 1000000], got ${String(size)}`);
    }
    this.size = size;
    this.#ring = new Uint8Array(size);
  }

  record(_now: number, failed: boolean, slow: boolean): void {
    const i = this.#next;
    if (this.#calls === this.size) {
      const old = this.#ring[i]!;
      if (old & FAILED) this.#failures--;
      if (old & SLOW) this.#slow--;
    } else {
      this.#calls++;
    }
    this.#ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.#failures++;
    if (slow) this.#slow++;
    this.#next = i + 1 === this.size ? 0 : i + 1;
  }

  totals(_now?: number): { calls: number; failures: number; slowCalls: number } {
    return { calls: this.#calls, failures: this.#failures, slowCalls: this.#slow };
  }

  clear(): void {
    this.#next = 0;
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  /** The outcomes oldest first, for `breaker.toJSON()`. */
  snapshot(): WindowSnapshotCount {
    const outcomes: number[] = [];
    const start = this.#calls === this.size ? this.#next : 0;
    for (let k = 0; k < this.#calls; k++) outcomes.push(this.#ring[(start + k) % this.size]!);
    return { type: 'count', size: this.size, outcomes };
  }

  /** Replays a snapshot's outcomes (the newest `size` of them if the window shrank). */
  restore(snapshot: WindowSnapshotCount): void {
    this.clear();
    for (const o of snapshot.outcomes) this.record(0, (o & FAILED) !== 0, (o & SLOW) !== 0);
  }
}
