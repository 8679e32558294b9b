import { type Clock, monotonicClock } from '../core/types.js';
import { checkNumber, MAX_DELAY_MS } from './internal.js';

export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of the calls seen in the window, e.g. 0.2 = one retry per five calls. */
  readonly ratio: number;
  /** Retries always allowed per second whatever the traffic, so a quiet service can still retry. Default 1. */
  readonly minPerSecond?: number;
  /** How far back calls and retries count, in ms. Default 10_000. */
  readonly window?: number;
  readonly clock?: Clock;
}

const BUCKETS = 10;

/**
 * Caps retries to a share of recent traffic so that, when an upstream fails for everyone, retries cannot
 * multiply the load on it (the retry-storm problem). Allowed retries in the window are
 * `minPerSecond * window / 1000 + ratio * calls`.
 *
 * Memory is O(1): two rings of ten counters (calls, retries) that forget one bucket at a time. One budget can
 * be shared by several retry policies that call the same upstream.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly window: number;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #reserve: number;
  readonly #calls = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #totalCalls = 0;
  #totalRetries = 0;
  /** Absolute index (time / bucketMs) of the newest bucket. */
  #index: number;

  constructor(options: RetryBudgetOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('retry budget must be an object { ratio, minPerSecond?, window? }');
    }
    this.ratio = checkNumber('budget.ratio', options.ratio, 0, 10);
    this.minPerSecond = checkNumber('budget.minPerSecond', options.minPerSecond ?? 1, 0, 1e9);
    this.window = checkNumber('budget.window', options.window ?? 10_000, BUCKETS, MAX_DELAY_MS);
    this.#clock = options.clock ?? monotonicClock;
    this.#bucketMs = this.window / BUCKETS;
    this.#reserve = (this.minPerSecond * this.window) / 1000;
    this.#index = Math.floor(this.#clock.now() / this.#bucketMs);
  }

  /** Counts one call (a first attempt). */
  recordCall(): void {
    const slot = this.#advance();
    this.#calls[slot]!++;
    this.#totalCalls++;
  }

  /** Takes one retry from the budget if there is room; false when the budget is spent. */
  tryAcquire(): boolean {
    const slot = this.#advance();
    if (this.#totalRetries >= this.#reserve + this.ratio * this.#totalCalls) return false;
    this.#retries[slot]!++;
    this.#totalRetries++;
    return true;
  }

  /** Retries that could be taken right now (fractional: the ratio accrues per call). */
  get available(): number {
    this.#advance();
    return Math.max(0, this.#reserve + this.ratio * this.#totalCalls - this.#totalRetries);
  }

  /** Moves the ring to the current bucket, zeroing those that fell out of the window; returns the slot. */
  #advance(): number {
    const index = Math.floor(this.#clock.now() / this.#bucketMs);
    const gap = index - this.#index;
    if (gap > 0) {
      if (gap >= BUCKETS) {
        this.#calls.fill(0);
        this.#retries.fill(0);
        this.#totalCalls = 0;
        this.#totalRetries = 0;
      } else {
        for (let k = 1; k <= gap; k++) {
          const slot = slotOf(this.#index + k);
          this.#totalCalls -= this.#calls[slot]!;
          this.#totalRetries -= this.#retries[slot]!;
          this.#calls[slot] = 0;
          this.#retries[slot] = 0;
        }
      }
      this.#index = index;
    }
    // A clock that went backwards keeps counting in the newest bucket.
    return slotOf(this.#index);
  }
}

function slotOf(index: number): number {
  return ((index % BUCKETS) + BUCKETS) % BUCKETS;
}
