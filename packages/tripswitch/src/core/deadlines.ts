/**
 * Deadlines that all have the same length, served by one timer.
 *
 * A breaker's `timeout` (or a stream's idle timeout) is the same for every call, so deadlines are created in
 * the order they fall due: a FIFO list is already sorted. One timer is armed for the oldest pending
 * deadline; a call that settles in time unlinks itself in O(1) and touches no timer. When the timer fires it
 * expires every entry that is due and re-arms for the next one, so a busy breaker wakes about once per
 * timeout period instead of creating and clearing a timer per call (what makes `setTimeout` per call cost
 * ~10× a breaker's success path).
 *
 * Reading the clock costs a breaker's whole success path again, so it is read once per event-loop turn, not
 * per deadline: every deadline started during a turn counts from the end of that turn (read when the turn
 * is done, or earlier if this queue's timer fires first). A deadline is therefore never early, and late by
 * at most the rest of the turn it started in, which no timer could have fired during anyway.
 *
 * The timer is `ref`'ed only while deadlines are pending: once the last call has settled it is `unref`'ed
 * (checked once per event-loop turn, not per call: a burst of sequential calls toggles nothing), so it never
 * keeps the process alive after the last call, and it is dropped the next time it fires. Times come from
 * `performance.now()` (monotonic: a step of the system clock moves no deadline).
 */

/** The deadlines started during one event-loop turn: they all count from `start`, the turn's end. */
class Turn {
  /** Monotonic ms at which this turn's deadlines start; -1 while the turn is still running. */
  start = -1;
}

/** A deadline in a `DeadlineQueue`. Subclass it: the entry is its own list node (no allocation per call). */
export abstract class Deadline {
  /** @internal list links and due time, owned by the queue */
  _prev: Deadline | undefined = undefined;
  _next: Deadline | undefined = undefined;
  _turn: Turn | undefined = undefined;
  _queued = false;

  /** Called once, from the queue's timer, when this deadline passed while it was still queued. */
  abstract expire(): void;
}

/** Where a queue gets its time and its timer. Tests inject a fake; the default is the real one. */
export interface DeadlineTimers {
  /** Monotonic ms. */
  now(): number;
  set(fn: () => void, ms: number): { ref(): unknown; unref(): unknown };
  /** Runs `fn` once the current macrotask is done (before the event loop could go idle). */
  defer(fn: () => void): void;
}

export const realTimers: DeadlineTimers = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  defer: (fn) => {
    setImmediate(fn);
  },
};

export class DeadlineQueue {
  readonly ms: number;
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  #size = 0;
  #timer: { ref(): unknown; unref(): unknown } | undefined;
  readonly #timers: DeadlineTimers;
  #refed = false;
  /** The turn that deadlines added now belong to (its start not read yet). */
  #turn: Turn | undefined = undefined;
  #turnEndScheduled = false;
  readonly #fire = (): void => this.#expireDue();
  /** Runs once the turn is done: dates the turn's deadlines, and lets an idle timer go. */
  readonly #turnEnd = (): void => {
    this.#turnEndScheduled = false;
    this.#closeTurn();
    if (this.#size === 0 && this.#refed) {
      this.#timer!.unref();
      this.#refed = false;
    }
  };

  /** `ms`: the length of every deadline in this queue, > 0 and within setTimeout's range. */
  constructor(ms: number, timers: DeadlineTimers = realTimers) {
    if (typeof ms !== 'number' || !(ms > 0) || ms > 2_147_483_647) {
      throw new RangeError(`deadline ms must be a number in (0, 2147483647], got ${String(ms)}`);
    }
    this.ms = ms;
    this.#timers = timers;
  }

  /** Deadlines pending now. */
  get size(): number {
    return this.#size;
  }

  /** Whether the queue holds a timer right now (ref'ed or not). For tests and footprint checks. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Start `entry`'s deadline: it expires `ms` from now unless `delete`d first. An entry is in one queue at a time. */
  add(entry: Deadline): void {
    if (entry._queued) this.delete(entry);
    let turn = this.#turn;
    if (turn === undefined) {
      turn = this.#turn = new Turn();
      this.#scheduleTurnEnd();
    }
    entry._turn = turn;
    entry._queued = true;
    entry._next = undefined;
    entry._prev = this.#tail;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail._next = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined) {
      this.#timer = this.#timers.set(this.#fire, this.ms);
      this.#refed = true;
    } else if (!this.#refed) {
      this.#timer.ref();
      this.#refed = true;
    }
  }

  /** Stop `entry`'s deadline (it settled in time). O(1); a no-op for an entry that is not queued. */
  delete(entry: Deadline): void {
    if (!entry._queued) return;
    entry._queued = false;
    const prev = entry._prev;
    const next = entry._next;
    if (prev === undefined) this.#head = next;
    else prev._next = next;
    if (next === undefined) this.#tail = prev;
    else next._prev = prev;
    entry._prev = undefined;
    entry._next = undefined;
    entry._turn = undefined;
    // The last pending deadline gone: the timer may stay armed (cheaper than clearing it per call) but must
    // not keep the process alive; unref it at the end of this turn unless a new deadline came meanwhile.
    if (--this.#size === 0 && this.#refed) this.#scheduleTurnEnd();
  }

  #scheduleTurnEnd(): void {
    if (this.#turnEndScheduled) return;
    this.#turnEndScheduled = true;
    this.#timers.defer(this.#turnEnd);
  }

  /** Dates the running turn's deadlines from now (every one of them was started before now). */
  #closeTurn(now = -1): void {
    const turn = this.#turn;
    if (turn === undefined) return;
    this.#turn = undefined;
    turn.start = now >= 0 ? now : this.#timers.now();
  }

  #expireDue(): void {
    this.#timer = undefined;
    this.#refed = false;
    // Node fires a timer on the loop's cached clock, which may be a little behind: an entry not yet due is
    // left for a re-armed timer rather than expired early.
    const now = this.#timers.now();
    this.#closeTurn(now); // deadlines started in this turn count from now (never early)
    let entry = this.#head;
    // An entry an expiry just started belongs to a turn still running (start -1): not due.
    while (entry !== undefined && entry._turn!.start >= 0 && entry._turn!.start + this.ms <= now) {
      this.delete(entry);
      try {
        entry.expire();
      } catch {
        // One entry's expiry must not strand the others.
      }
      entry = this.#head;
    }
    // An expiry may have queued a new deadline (and armed a timer) already.
    if (entry !== undefined && this.#timer === undefined) {
      this.#timer = this.#timers.set(this.#fire, delayUntil(entry._turn!.start, this.ms, now));
      this.#refed = true;
    }
  }
}

/** ms from `now` until a deadline of `ms` from `start` (a turn still running, -1, starts at the earliest now). */
function delayUntil(start: number, ms: number, now: number): number {
  return start < 0 ? ms : Math.max(1, Math.ceil(start + ms - now));
}
