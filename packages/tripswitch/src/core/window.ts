import type { WindowSnapshotTime } from './snapshot.js';

/**
 * A time-bucketed sliding window of call outcomes. Memory is fixed (three counters per bucket) and each
 * bucket remembers which time slice it holds, so after an idle gap stale buckets are simply not counted:
 * the window forgets by construction, never by a timer.
 */
export class SlidingWindow {
  readonly #bucketMs: number;
  readonly #epoch: Float64Array;
  readonly #calls: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;

  constructor(windowMs: number, buckets: number) {
    this.#bucketMs = windowMs / buckets;
    // -Infinity marks an empty bucket: it never falls inside a window, whatever the clock's origin.
    this.#epoch = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#calls = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
    this.#slow = new Uint32Array(buckets);
  }

  record(now: number, failed: boolean, slow: boolean): void {
    const slice = Math.floor(now / this.#bucketMs);
    const n = this.#epoch.length;
    const i = ((slice % n) + n) % n; // clocks may read negative times
    if (this.#epoch[i] !== slice) {
      this.#epoch[i] = slice;
      this.#calls[i] = 0;
      this.#failures[i] = 0;
      this.#slow[i] = 0;
    }
    this.#calls[i]!++;
    if (failed) this.#failures[i]!++;
    if (slow) this.#slow[i]!++;
  }

  /** Totals over the buckets that still belong to the window ending at `now`. O(buckets). */
  totals(now: number): { calls: number; failures: number; slowCalls: number } {
    const current = Math.floor(now / this.#bucketMs);
    const oldest = current - this.#epoch.length;
    let calls = 0;
    let failures = 0;
    let slowCalls = 0;
    for (let i = 0; i < this.#epoch.length; i++) {
      const e = this.#epoch[i]!;
      if (e > oldest && e <= current) {
        calls += this.#calls[i]!;
        failures += this.#failures[i]!;
        slowCalls += this.#slow[i]!;
      }
    }
    return { calls, failures, slowCalls };
  }

  clear(): void {
    this.#epoch.fill(Number.NEGATIVE_INFINITY);
  }

  /** Buckets still in the window ending at `now`, with their age (ms before `now`), for `breaker.toJSON()`. */
  snapshot(now: number): WindowSnapshotTime {
    const current = Math.floor(now / this.#bucketMs);
    const oldest = current - this.#epoch.length;
    const buckets: Array<{ age: number; calls: number; failures: number; slowCalls: number }> = [];
    for (let i = 0; i < this.#epoch.length; i++) {
      const e = this.#epoch[i]!;
      if (e > oldest && e <= current && this.#calls[i]! > 0) {
        buckets.push({
          age: Math.max(0, now - e * this.#bucketMs),
          calls: this.#calls[i]!,
          failures: this.#failures[i]!,
          slowCalls: this.#slow[i]!,
        });
      }
    }
    buckets.sort((a, b) => b.age - a.age);
    return { type: 'time', bucketMs: this.#bucketMs, buckets };
  }

  /**
   * Puts a snapshot's buckets back: each at `takenAt - age` on this window's clock, dropping those that
   * are out of the window ending at `now`. Only into a window with the same bucket length (else false).
   */
  restore(snapshot: WindowSnapshotTime, takenAt: number, now: number): boolean {
    if (snapshot.bucketMs !== this.#bucketMs) return false;
    this.clear();
    const n = this.#epoch.length;
    const oldest = Math.floor(now / this.#bucketMs) - n;
    for (const b of snapshot.buckets) {
      const slice = Math.floor((takenAt - b.age) / this.#bucketMs);
      if (slice <= oldest) continue; // fell out of the window meanwhile
      const i = ((slice % n) + n) % n;
      this.#epoch[i] = slice;
      this.#calls[i] = b.calls;
      this.#failures[i] = b.failures;
      this.#slow[i] = b.slowCalls;
    }
    return true;
  }
}
