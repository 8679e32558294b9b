/**
 * Simulated time for property tests: `performance.now()` (the default monotonic clock and every deadline
 * queue) reads `now`, and `setTimeout` is replaced by timers that fire only when `advance` moves `now` past
 * them, earliest first (creation order among equals), so deadlines fire at their exact instants whatever the
 * machine's load. `setImmediate` stays real: `flush` lets promise chains and end-of-turn checks run.
 */
interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
  refed: boolean;
  done: boolean;
}

/** Lets every pending promise callback (and queued setImmediate) run. */
export const flush = () => new Promise<void>((r) => setImmediate(r));

export class FakeTime {
  /** Fake monotonic ms: what `performance.now()` returns once `patchPerformanceNow` ran. */
  now = 1_000;
  readonly #timers: FakeTimer[] = [];
  #seq = 0;
  #saved: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } | undefined;

  /**
   * Makes `performance.now()` return `now`. Call it before the library is loaded when the test compares
   * times with the default clock: its epoch (`Date.now() - performance.now()` at load) is then whole.
   */
  patchPerformanceNow(): () => void {
    Object.defineProperty(performance, 'now', { value: () => this.now, configurable: true, writable: true });
    return () => {
      delete (performance as { now?: unknown }).now;
    };
  }

  /** Replaces `setTimeout`/`clearTimeout` until `uninstall`. Each timer handle has ref/unref/hasRef. */
  install(): void {
    this.#saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
    const fake = (fn: () => void, ms?: number) => {
      const t: FakeTimer = {
        due: this.now + Math.max(1, ms ?? 1),
        seq: this.#seq++,
        fn,
        refed: true,
        done: false,
      };
      this.#timers.push(t);
      const handle = {
        ref: () => {
          t.refed = true;
          return handle;
        },
        unref: () => {
          t.refed = false;
          return handle;
        },
        hasRef: () => t.refed,
        [Symbol.toPrimitive]: () => t.seq,
        _fake: t,
      };
      return handle;
    };
    globalThis.setTimeout = fake as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((h: { _fake?: FakeTimer } | undefined) => {
      if (h?._fake) h._fake.done = true;
    }) as typeof clearTimeout;
  }

  uninstall(): void {
    if (this.#saved === undefined) return;
    globalThis.setTimeout = this.#saved.setTimeout;
    globalThis.clearTimeout = this.#saved.clearTimeout;
    this.#saved = undefined;
    this.#timers.length = 0;
  }

  /** The next timer due at or before `limit`. */
  #next(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers) {
      if (t.done || t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /**
   * Moves time to `now + ms`, firing every timer due on the way at its own instant (flushing after each).
   * The turn running now ends first (simulated code takes no time): deadline queues date the deadlines
   * started in a turn at its end, so they count from the current instant.
   */
  async advance(ms: number): Promise<void> {
    await flush();
    const target = this.now + ms;
    for (;;) {
      const t = this.#next(target);
      if (t === undefined) break;
      t.done = true;
      this.now = t.due;
      t.fn();
      await flush();
    }
    this.now = target;
  }

  /** The due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    return this.#next(Number.POSITIVE_INFINITY)?.due;
  }

  /** Pending timers that would keep the process alive (not unref'ed). */
  refedTimers(): number {
    return this.#timers.filter((t) => !t.done && t.refed).length;
  }
}
