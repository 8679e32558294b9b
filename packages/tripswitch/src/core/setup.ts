/**
 * What a breaker builds from its resolved options, once, in its constructor: the failure-time ring, the
 * failure window, the latency histogram, the deadline queues, which CLOSED success path it may take, and
 * its link to the state store. Each part exists only when an option needs it.
 */
import { CountWindow } from './count-window.js';
import { DeadlineQueue } from './deadlines.js';
import { FailureTimes } from './fail-times.js';
import type { BreakerInternals } from './internals.js';
import { LatencyHistogram } from './latency.js';
import type { ResolvedOptions } from './options.js';
import type { StoreLink, StoreSink } from './store.js';
import type { StreamDeadlines } from './stream.js';
import { SlidingWindow } from './window.js';

/** A breaker's optional parts (see the fields of the same names on `CircuitBreaker`). */
export interface BreakerParts {
  readonly failTimes: FailureTimes | undefined;
  readonly window: SlidingWindow | CountWindow | undefined;
  readonly latency: LatencyHistogram | undefined;
  readonly deadlines: DeadlineQueue | undefined;
  readonly streamDeadlines: StreamDeadlines;
  /** The CLOSED success path needs nothing but the generation check (no timeout, window, latency). */
  readonly fast: boolean;
  /** The CLOSED success path needs a deadline and nothing else (no window, no latency). */
  readonly timedFast: boolean;
}

const noStreamDeadlines: StreamDeadlines = Object.freeze({});

export function partsFor(o: ResolvedOptions): BreakerParts {
  const w = o.window;
  const window =
    w === undefined
      ? undefined
      : w.type === 'count'
        ? new CountWindow(w.size)
        : new SlidingWindow(w.windowMs, w.buckets);
  const latency = o.recordLatency ? new LatencyHistogram() : undefined;
  const st = o.streamTimeout;
  const plain = window === undefined && latency === undefined;
  return {
    failTimes: o.failWindow === undefined ? undefined : new FailureTimes(o.failMax, o.failWindow),
    window,
    latency,
    deadlines: o.timeout === undefined ? undefined : new DeadlineQueue(o.timeout),
    streamDeadlines:
      st.firstChunk === undefined && st.idle === undefined
        ? noStreamDeadlines
        : {
            firstChunk: st.firstChunk === undefined ? undefined : new DeadlineQueue(st.firstChunk),
            idle: st.idle === undefined ? undefined : new DeadlineQueue(st.idle),
          },
    fast: plain && o.timeout === undefined,
    timedFast: plain && o.timeout !== undefined,
  };
}

/**
 * Attach `b` to its store (`o.store`): the sink through which the store imposes states decided elsewhere
 * and reports its status (a `storeStatus` event), and the settings it decides with.
 */
export function attachStore(b: BreakerInternals, o: ResolvedOptions): StoreLink {
  const sink: StoreSink = {
    name: o.name,
    adopt: (snapshot) => b._adopt(snapshot),
    storeStatus: (status, error) => b._events.emit('storeStatus', status, error),
  };
  return o.store.attach(sink, {
    failMax: o.failMax,
    failWindow: o.failWindow,
    halfOpenTimeout: o.halfOpenTimeout,
    halfOpenMaxCalls: o.halfOpenMaxCalls,
    now: () => o.clock.now(),
    nextOpenDuration: () => o.openDuration({ openings: b._openings + 1, error: b._lastError }),
  });
}

/**
 * A shared store's first read (`StoreLink.ready`) is in flight: every call takes the guarded path, which
 * waits for `b._storeReady`; once it settles the fast paths are back.
 */
export function holdUntilReady(b: BreakerInternals, ready: Promise<void>): void {
  const fast = b._fast;
  const timedFast = b._timedFast;
  b._fast = false;
  b._timedFast = false;
  b._storeReady = ready.then(() => {
    b._storeReady = undefined;
    b._fast = fast;
    b._timedFast = timedFast;
  });
}
