/**
 * Fixed log-scale latency histogram: percentiles come from walking the buckets (O(buckets)), never from
 * sorting samples, and memory does not grow with the number of calls (one Uint32Array of ~320 counters).
 *
 * Buckets grow by 5% from 0.1 ms to 10 min, and a percentile is interpolated linearly inside its bucket (and
 * clamped to the smallest and largest sample seen): the true value and the estimate share a bucket, so the
 * estimate is within 5% of the true nearest-rank percentile (or 0.1 ms below that), whatever the data, for
 * latencies up to 10 min (beyond that, between 10 min and the largest sample).
 */
const FIRST = 0.1;
const GROWTH = 1.05;
const LAST = 600_000;
const LOG_GROWTH = Math.log(GROWTH);
/** BOUNDS[i] is the upper bound of bucket i; bucket BOUNDS.length holds everything above the last bound. */
const BOUNDS: Float64Array = (() => {
  const out: number[] = [];
  for (let b = FIRST; b < LAST * GROWTH; b *= GROWTH) out.push(b);
  return Float64Array.from(out);
})();
const TOP = BOUNDS.length;

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST)) return 0; // also NaN and negative durations (a clock that went backwards)
  let i = Math.min(TOP, Math.ceil(Math.log(ms / FIRST) / LOG_GROWTH));
  // Correct the floating-point estimate so that BOUNDS[i - 1] < ms <= BOUNDS[i].
  while (i > 0 && ms <= BOUNDS[i - 1]!) i--;
  while (i < TOP && ms > BOUNDS[i]!) i++;
  return i;
}

export class LatencyHistogram {
  readonly #counts = new Uint32Array(TOP + 1);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  record(ms: number): void {
    const value = Number.isNaN(ms) || ms < 0 ? 0 : ms;
    this.#counts[bucketOf(value)]!++;
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
    if (value < this.#min) this.#min = value;
  }

  /** Nearest-rank percentile `q`, interpolated inside the bucket that holds that rank. */
  #percentile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i <= TOP; i++) {
      const inBucket = this.#counts[i]!;
      if (inBucket === 0) continue;
      if (seen + inBucket >= rank) {
        const lo = Math.max(i === 0 ? 0 : BOUNDS[i - 1]!, this.#min);
        const hi = Math.min(i === TOP ? this.#max : BOUNDS[i]!, this.#max);
        return Math.min(this.#max, lo + ((hi - lo) * (rank - seen)) / inBucket); // no float overshoot
      }
      seen += inBucket;
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
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
  }
}
