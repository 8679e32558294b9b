import type { CircuitState } from 'tripswitch';

/** What happened to one call, as the dashboard counts it. */
export type Outcome = 'success' | 'failure' | 'rejected';

/**
 * States by severity: a second's band shows the worst state the breaker was in during that second, so a
 * trip that healed within the same second still shows. The index is the code sent to the page.
 */
export const STATE_CODES: readonly CircuitState[] = ['closed', 'disabled', 'half-open', 'open', 'isolated'];

const CODE_OF: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  disabled: 1,
  'half-open': 2,
  open: 3,
  isolated: 4,
};

export function stateCode(state: CircuitState): number {
  return CODE_OF[state] ?? 0;
}

/** One second of history: [successes, failures, rejected, worst state code]. */
export type Bucket = [number, number, number, number];

/** A run of consecutive seconds, oldest first; `start` is the epoch second of `buckets[0]`. */
export interface TimelineSeries {
  start: number;
  buckets: Bucket[];
}

export const MIN_WINDOW_SECONDS = 60;
export const MAX_WINDOW_SECONDS = 3600;

const SUCCESS = 0;
const FAILURE = 1;
const REJECTED = 2;
const OUTCOME_INDEX: Readonly<Record<Outcome, number>> = {
  success: SUCCESS,
  failure: FAILURE,
  rejected: REJECTED,
};

/**
 * A fixed ring of per-second buckets for one breaker: memory is set by `seconds` at construction and never
 * grows with traffic. Seconds with no events are not stored; reading fills them with zero counts and the
 * state the breaker was in, which is known because each slot remembers the state it began in.
 */
export class Timeline {
  readonly seconds: number;
  /** Epoch second held by each slot (NaN: never used). */
  readonly #stamp: Float64Array;
  readonly #counts: Uint32Array;
  readonly #worst: Uint8Array;
  /** State at the start of the slot's second: the state of the silent seconds just before it. */
  readonly #begin: Uint8Array;
  #current: number;

  constructor(seconds: number, initial: CircuitState = 'closed') {
    if (!Number.isInteger(seconds) || seconds < MIN_WINDOW_SECONDS || seconds > MAX_WINDOW_SECONDS) {
      throw new RangeError(
        `timeline seconds must be an integer in [${MIN_WINDOW_SECONDS}, ${MAX_WINDOW_SECONDS}], got ${String(seconds)}`,
      );
    }
    this.seconds = seconds;
    this.#stamp = new Float64Array(seconds).fill(Number.NaN);
    this.#counts = new Uint32Array(seconds * 3);
    this.#worst = new Uint8Array(seconds);
    this.#begin = new Uint8Array(seconds);
    this.#current = stateCode(initial);
  }

  /** The state the timeline last saw. */
  get state(): CircuitState {
    return STATE_CODES[this.#current] ?? 'closed';
  }

  record(outcome: Outcome, nowMs: number): void {
    const slot = this.#slot(nowMs);
    const at = slot * 3 + OUTCOME_INDEX[outcome];
    // Saturate rather than wrap: 4 billion calls in one second is not a real dashboard concern.
    if (this.#counts[at]! < 0xffffffff) this.#counts[at]! += 1;
  }

  transition(to: CircuitState, nowMs: number): void {
    const slot = this.#slot(nowMs);
    const code = stateCode(to);
    this.#current = code;
    if (code > this.#worst[slot]!) this.#worst[slot] = code;
  }

  /**
   * The seconds from `fromSecond` (clamped to the window) up to the second containing `nowMs`, gaps filled.
   * Walks backwards from now so every silent second gets the state that held during it.
   */
  series(nowMs: number, fromSecond = Number.NEGATIVE_INFINITY): TimelineSeries {
    const now = Math.floor(nowMs / 1000);
    const start = Math.max(now - this.seconds + 1, Math.floor(fromSecond));
    if (start > now) return { start: now + 1, buckets: [] };
    const buckets: Bucket[] = new Array(now - start + 1);
    let carry = this.#current;
    for (let s = now; s >= start; s--) {
      const slot = s % this.seconds;
      if (this.#stamp[slot] === s) {
        const c = slot * 3;
        buckets[s - start] = [
          this.#counts[c + SUCCESS]!,
          this.#counts[c + FAILURE]!,
          this.#counts[c + REJECTED]!,
          this.#worst[slot]!,
        ];
        carry = this.#begin[slot]!;
      } else {
        buckets[s - start] = [0, 0, 0, carry];
      }
    }
    return { start, buckets };
  }

  /** Outcome totals over the last `seconds` seconds (at most the window). */
  totals(nowMs: number, seconds: number): { success: number; failure: number; rejected: number } {
    const now = Math.floor(nowMs / 1000);
    const from = now - Math.min(seconds, this.seconds) + 1;
    const out = { success: 0, failure: 0, rejected: 0 };
    for (let s = from; s <= now; s++) {
      const slot = s % this.seconds;
      if (this.#stamp[slot] !== s) continue;
      out.success += this.#counts[slot * 3 + SUCCESS]!;
      out.failure += this.#counts[slot * 3 + FAILURE]!;
      out.rejected += this.#counts[slot * 3 + REJECTED]!;
    }
    return out;
  }

  /** The slot for the second containing `nowMs`, recycled (zeroed) if it held an older second. */
  #slot(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const slot = second % this.seconds;
    if (this.#stamp[slot] !== second) {
      this.#stamp[slot] = second;
      this.#counts.fill(0, slot * 3, slot * 3 + 3);
      this.#begin[slot] = this.#current;
      this.#worst[slot] = this.#current;
    }
    return slot;
  }
}
