/**
 * Fixed log-scale latency histogram: percentiles come from walking the buckets (O(buckets)), never from
 * sorting samples, and memory does not grow with the number of calls.
 */
const BOUNDS: readonly number[] = (() => {
  // 0.1 ms to ~10 min, each bound 1.5x the previous.
  const out: number[] = [];
  for (let b = 0.1; b < 600_000; b *= 1.5) out.push(Number(b.toPrecision(3)));
  return out;
})();

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  readonly #counts = new Uint32Array(BOUNDS.length + 1);
  #count = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    let lo = 0;
    let hi = BOUNDS.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ms <= BOUNDS[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.#counts[lo]!++;
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  #percentile(q: number): number {
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(BOUNDS[i] ?? this.#max, this.#max);
    }
    return this.#max;
  }

  summary(): LatencySummary | null {
    if (this.#count === 0) return null;
    return {
      count: this.#count,
      mean: this.#sum / this.#count,
      p50: this.#percentile(0.5),
      p90: this.#percentile(0.9),
      p99: this.#percentile(0.99),
      max: this.#max,
    };
  }

  clear(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
