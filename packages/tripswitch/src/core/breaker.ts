import { CountWindow } from './count-window.js';
import { DeadlineQueue } from './deadlines.js';
import { CircuitOpenError, isPolicyRejection, TimeoutError, UsageError } from './errors.js';
import { type CircuitBreakerEvents, EventHub, type EventName } from './events.js';
import { fromSnapshot, toSnapshot } from './hydration.js';
import { LatencyHistogram } from './latency.js';
import {
  type BreakerRef,
  type CircuitBreakerListener,
  type CircuitBreakerOptions,
  type Counts,
  matchesAny,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import type { CircuitBreakerStats, ExecuteResult, Permit } from './results.js';
import type { BreakerStateSnapshot } from './snapshot.js';
import {
  memoryStore,
  type ProbeLease,
  type SharedSnapshot,
  type StoreLink,
  type StoreSink,
  type StoreStatus,
  type TransitionCause,
} from './store.js';
import { runStream, type StreamDeadlines, type StreamIterator, type StreamOperation } from './stream.js';
import { DeadlineExceeded, runWithDeadline, type TimedCallHooks } from './timed-call.js';
import { type CircuitState, defaultContext, type Operation, type Policy, retryAfterOf } from './types.js';
import { describeError, operationError } from './user-code.js';
import { SlidingWindow } from './window.js';

export type { CircuitBreakerEvents } from './events.js';
export type { CircuitBreakerStats, ExecuteResult, Permit } from './results.js';

// States as small integers on the hot path; names only at the API edge.
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const DISABLED = 4;
type Code = 0 | 1 | 2 | 3 | 4;
const NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated', 'disabled'];
const CODES: Readonly<Record<CircuitState, Code>> = {
  closed: CLOSED,
  open: OPEN,
  'half-open': HALF_OPEN,
  isolated: ISOLATED,
  disabled: DISABLED,
};

// Outcome of classifying a settled call.
const _SUCCESS = 0;
const FAILURE = 1;
const IGNORED = 2;

/**
 * A circuit breaker: one small state machine with lazy transitions (no timers), a generation number that
 * makes results from an earlier state harmless, and a success path that costs a state check, a counter
 * and an `await`.
 */
export class CircuitBreaker implements Policy, BreakerRef {
  readonly name: string;
  private readonly _o: ResolvedOptions;
  private _link: StoreLink;
  /** True when the CLOSED success path needs nothing but the generation check (no timeout, window, latency). */
  private _fast: boolean;
  /** A shared store's first read still in flight: calls wait for it (StoreLink.ready), then this is cleared. */
  private _storeReady: Promise<void> | undefined;

  private _code: Code;
  private _gen = 0;
  // CLOSED bookkeeping.
  private _consecutive = 0;
  private _failTimes: Float64Array | undefined; // ring of the streak's failure times, only with failWindow
  private _failHead = 0;
  private readonly _window: SlidingWindow | CountWindow | undefined;
  // OPEN bookkeeping.
  private _openUntil = 0;
  private _openings = 0; // consecutive openings since the last CLOSED (feeds backoff)
  // HALF-OPEN bookkeeping.
  private _probes = 0;
  private _probeSuccesses = 0;
  private _probeProgressAt = 0; // last time a probe was admitted into an empty slot set or settled
  // Figures.
  private _lastFailureAt: number | null = null;
  private _lastError: unknown = undefined;
  /** A failure was recorded since the last reset (`_lastError` may itself be `undefined`: `throw undefined`). */
  private _hasLastError = false;
  /** Outcomes of calls admitted before the last `reset()` (generation < this) count nowhere. */
  private _epoch = 0;
  /** Generations whose HALF-OPEN probes were written off by `halfOpenTimeout` (last few): their late results count nowhere. */
  private _writtenOff: number[] = [];
  private _calls = 0;
  private _successes = 0;
  private _failures = 0;
  private _rejections = 0;
  private _ignored = 0;
  private _timeouts = 0;
  private _openingsTotal = 0;
  private readonly _latency: LatencyHistogram | undefined;
  /** Shared empty hub until the first subscription (an idle breaker pays nothing for events). */
  private _events: EventHub = EventHub.none;
  // Timed calls: one deadline queue per breaker (every call has the same timeout), and the stream deadlines.
  private readonly _deadlines: DeadlineQueue | undefined;
  /** True when the CLOSED success path needs a deadline and nothing else (no window, no latency). */
  private _timedFast: boolean;
  private readonly _streamDeadlines: StreamDeadlines;

  constructor(options: CircuitBreakerOptions = {}) {
    const o = resolveOptions(options);
    this._o = o;
    this.name = o.name;
    this._code = o.disabled ? DISABLED : CLOSED;
    if (o.failWindow !== undefined) this._failTimes = new Float64Array(o.failMax);
    const w = o.window;
    this._window =
      w === undefined
        ? undefined
        : w.type === 'count'
          ? new CountWindow(w.size)
          : new SlidingWindow(w.windowMs, w.buckets);
    this._latency = o.recordLatency ? new LatencyHistogram() : undefined;
    this._fast = o.timeout === undefined && this._window === undefined && this._latency === undefined;
    this._timedFast = o.timeout !== undefined && this._window === undefined && this._latency === undefined;
    this._deadlines = o.timeout === undefined ? undefined : new DeadlineQueue(o.timeout);
    const st = o.streamTimeout;
    this._streamDeadlines =
      st.firstChunk === undefined && st.idle === undefined
        ? noStreamDeadlines
        : {
            firstChunk: st.firstChunk === undefined ? undefined : new DeadlineQueue(st.firstChunk),
            idle: st.idle === undefined ? undefined : new DeadlineQueue(st.idle),
          };
    for (const listener of o.listeners) this._hub().attach(this, listener);
    const sink: StoreSink = {
      name: o.name,
      adopt: (snapshot) => this._adopt(snapshot),
      storeStatus: (status, error) => this._emit('storeStatus', status, error),
    };
    this._link = o.store.attach(sink, {
      failMax: o.failMax,
      failWindow: o.failWindow,
      halfOpenTimeout: o.halfOpenTimeout,
      halfOpenMaxCalls: o.halfOpenMaxCalls,
      now: () => o.clock.now(),
      nextOpenDuration: () => o.openDuration({ openings: this._openings + 1, error: this._lastError }),
    });
    if (o.initialState !== undefined) this._hydrate(o.initialState);
    const ready = this._link.ready;
    if (ready !== undefined) {
      // Until the shared state is known, every call takes the guarded path, which waits for it.
      const fast = this._fast;
      const timedFast = this._timedFast;
      this._fast = false;
      this._timedFast = false;
      this._storeReady = ready.then(() => {
        this._storeReady = undefined;
        this._fast = fast;
        this._timedFast = timedFast;
      });
    }
  }

  // ---------------------------------------------------------------- inspection

  /** Current state. Reading it performs the lazy OPEN -> HALF-OPEN move once `openDuration` has passed. */
  get state(): CircuitState {
    if (this._code === OPEN || this._code === HALF_OPEN) this._advance(this._o.clock.now());
    return NAMES[this._code]!;
  }

  /** Failures currently counting toward the trip rule (`failMax`), honouring `failWindow`. */
  get failCount(): number {
    if (this._failTimes === undefined || this._consecutive === 0) return this._consecutive;
    return this._liveFailures(this._o.clock.now());
  }

  get lastFailureAt(): number | null {
    return this._lastFailureAt;
  }

  /** ms until a probe may run: 0 when calls are admitted, Infinity when isolated. */
  get retryAfter(): number {
    const state = this.state;
    if (state === 'open') return Math.max(0, this._openUntil - this._o.clock.now());
    if (state === 'isolated') return Number.POSITIVE_INFINITY;
    if (state === 'half-open' && this._probes >= this._o.halfOpenMaxCalls) {
      return Math.max(0, this._probeProgressAt + this._o.halfOpenTimeout - this._o.clock.now());
    }
    return 0;
  }

  /** Which store holds the state, and whether it is reachable. */
  get store(): { kind: string; status: StoreStatus } {
    return { kind: this._link.kind, status: this._link.status };
  }

  stats(): CircuitBreakerStats {
    const now = this._o.clock.now();
    const state = this.state;
    let window: CircuitBreakerStats['window'] = null;
    if (this._window && this._o.window) {
      const t = this._window.totals(now);
      const count = this._o.window.type === 'count';
      window = {
        type: this._o.window.type,
        windowMs: count ? null : this._o.window.windowMs,
        size: count ? this._o.window.size : null,
        calls: t.calls,
        failures: t.failures,
        slowCalls: t.slowCalls,
        failureRate: t.calls === 0 ? 0 : t.failures / t.calls,
        slowCallRate: t.calls === 0 ? 0 : t.slowCalls / t.calls,
      };
    }
    const err = this._lastError;
    return {
      name: this.name,
      state,
      generation: this._gen,
      failCount: this.failCount,
      lastFailureAt: this._lastFailureAt,
      lastFailure: this._hasLastError ? describeError(err) : null,
      retryAfter: this.retryAfter,
      openUntil: state === 'open' ? this._o.wall.now() + (this._openUntil - now) : null,
      halfOpen: state === 'half-open' ? { inFlight: this._probes, successes: this._probeSuccesses } : null,
      totals: {
        calls: this._calls,
        successes: this._successes,
        failures: this._failures,
        rejections: this._rejections,
        ignored: this._ignored,
        timeouts: this._timeouts,
        openings: this._openingsTotal,
      },
      window,
      latency: this._latency ? this._latency.summary() : null,
      store: this.store,
    };
  }

  // ---------------------------------------------------------------- calls

  /**
   * Run `fn` through the breaker. `fn` gets `{ signal, attempt }`: the signal aborts on this call's own
   * `timeout` or on the caller's `signal`, never because of another call.
   */
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    if (typeof fn !== 'function' || signal !== undefined) {
      // The caller's mistake, not the upstream's: rejected before admission, counted nowhere.
      const misuse = operationError(fn, signal, 'execute');
      if (misuse !== undefined) return Promise.reject(misuse);
    }
    if (this._code === CLOSED) {
      if (this._fast) return this._runFast(fn, signal);
      if (this._timedFast) return this._runTimed(fn, signal);
    }
    return this._runGuarded(fn, signal);
  }

  /**
   * Run a streaming call (an async iterable of chunks, e.g. LLM tokens) through the breaker. Admission
   * happens at the first read (`CircuitOpenError` there); the permit, and a HALF-OPEN probe slot, is held
   * until the stream ends. The stream completing is a success, its error a failure (classified like
   * `execute`), `streamTimeout.firstChunk` / `.idle` expiring a failure that aborts the call's own signal;
   * the consumer stopping early (`break`, `return()`) or the caller's `signal` aborting is neither.
   */
  stream<T>(fn: StreamOperation<T>, signal?: AbortSignal): StreamIterator<T> {
    return runStream(this, fn, signal, this._streamDeadlines);
  }

  /** Like `execute`, but rejections and failures come back as `{ ok: false, error }` instead of a throw. */
  tryExecute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<ExecuteResult<T>> {
    const misuse = operationError(fn, signal, 'tryExecute');
    if (misuse !== undefined) return Promise.resolve({ ok: false, error: misuse });
    // An already-aborted caller goes the way execute() sends it (its own reason, no rejection counted).
    if (this._code !== CLOSED && this._code !== DISABLED && signal?.aborted !== true) {
      // Decide rejection synchronously so the open-circuit path creates no rejected promise at all.
      const now = this._o.clock.now();
      const rejection = this._admit(now);
      if (typeof rejection !== 'boolean') {
        return Promise.resolve({ ok: false, error: this._reject(rejection, now) });
      }
      if (rejection === true) this._releaseProbeSlot(this._gen); // admitted as probe: give it back, execute re-admits
    }
    return this.execute(fn, signal).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  /**
   * Wrap a function: the result has the same signature, and every call goes through the breaker. The
   * receiver is kept (`obj.m = breaker.protect(obj.m); obj.m()` sees `this === obj`), as are the arguments.
   * Throws `UsageError` (a TypeError) at once when `fn` is not a function.
   */
  protect<This, A extends unknown[], R>(
    fn: (this: This, ...args: A) => R | PromiseLike<R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    if (typeof fn !== 'function') {
      throw new UsageError(`protect(fn): fn must be a function, got ${fn === null ? 'null' : typeof fn}`);
    }
    const execute = <T>(op: Operation<T>): Promise<T> => this.execute(op);
    return function protectedCall(this: This, ...args: A): Promise<Awaited<R>> {
      return execute(() => fn.apply(this, args)) as Promise<Awaited<R>>;
    };
  }

  private async _runFast<T>(fn: Operation<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    const gen = this._gen;
    this._calls++;
    let result: T;
    try {
      result = await fn(signal === undefined ? defaultContext : { signal, attempt: 1 });
    } catch (err) {
      this._settleError(gen, false, err, signal, false, 0);
      throw err;
    }
    if (this._o.isFailureResult !== undefined && this._isFailureResult(result, gen, false)) {
      this._onFailure(gen, false, result, 0);
      return result;
    }
    if (gen < this._epoch) return result; // admitted before reset(): counts nowhere
    this._successes++;
    // Only the first success after failures has work to do (reset the streak, tell a shared store).
    if (this._consecutive !== 0 && gen === this._gen) this._resetStreak();
    if (this._events.hasSuccess) this._emit('success');
    return result;
  }

  /**
   * `_runFast` with a deadline from the breaker's queue (no timer, no AbortController unless read); the
   * outcome is recorded by `_timedHooks` as the call settles, so there is no async wrapper either.
   */
  private _runTimed<T>(fn: Operation<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this._calls++;
    return runWithDeadline(this._deadlines!, fn, signal, 1, CircuitBreaker._timedHooks, this, this._gen);
  }

  /** Records a timed call's outcome as it settles; one object for every breaker (no closures per breaker). */
  private static readonly _timedHooks: TimedCallHooks = {
    value(owner, gen, result) {
      const b = owner as CircuitBreaker;
      if (b._o.isFailureResult !== undefined && b._isFailureResult(result, gen, false)) {
        b._onFailure(gen, false, result, 0);
        return;
      }
      if (gen < b._epoch) return; // admitted before reset(): counts nowhere
      b._successes++;
      if (b._consecutive !== 0 && gen === b._gen) b._resetStreak();
      if (b._events.hasSuccess) b._emit('success');
    },
    error(owner, gen, err, signal) {
      const timedOut = err instanceof DeadlineExceeded;
      (owner as CircuitBreaker)._settleError(gen, false, err, signal, timedOut, 0);
      return timedOut ? (err as DeadlineExceeded).error : err;
    },
  };

  private async _runGuarded<T>(fn: Operation<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this._storeReady !== undefined) await this._storeReady;
    if (signal?.aborted) throw signal.reason;
    if (this._code === DISABLED) return fn(signal === undefined ? defaultContext : { signal, attempt: 1 });
    const clock = this._o.clock;
    const now = clock.now();
    const admitted = this._admit(now);
    if (typeof admitted !== 'boolean') {
      const rejection = this._reject(admitted, now);
      // Reject after the caller has attached its handler: a promise rejected before anyone listens goes
      // through Node's unhandled-rejection bookkeeping, which costs more than the rest of the rejection.
      await undefined;
      throw rejection;
    }
    const gen = this._gen;
    const probe = admitted;
    const lease = probe && this._link.shared ? await this._clusterProbeLease(gen) : null;
    this._calls++;
    const measure = this._latency !== undefined || this._window !== undefined;
    const started = measure ? clock.now() : 0;
    let result: T;
    try {
      result =
        this._o.timeout === undefined
          ? await fn(signal === undefined ? defaultContext : { signal, attempt: 1 })
          : await runWithDeadline(this._deadlines!, fn, signal);
    } catch (err) {
      const elapsed = measure ? clock.now() - started : 0;
      let outcome = IGNORED;
      try {
        outcome = this._settleError(gen, probe, err, signal, err instanceof DeadlineExceeded, elapsed);
      } finally {
        if (lease !== null) lease.release(outcome === FAILURE ? 'failure' : 'neutral');
      }
      throw err instanceof DeadlineExceeded ? err.error : err;
    }
    const elapsed = measure ? clock.now() - started : 0;
    let failed: boolean;
    try {
      failed = this._o.isFailureResult !== undefined && this._isFailureResult(result, gen, probe);
    } catch (misuse) {
      lease?.release('neutral');
      throw misuse;
    }
    if (failed) {
      this._onFailure(gen, probe, result, elapsed);
      if (lease !== null) lease.release('failure');
      return result;
    }
    this._onSuccess(gen, probe, elapsed);
    if (lease !== null) lease.release('success');
    return result;
  }

  /**
   * A local probe slot is not enough with a shared store: the cluster grants one probe lease. Without it
   * (another instance probes, or the state moved on while we asked) the slot is given back and the call
   * is rejected.
   */
  private async _clusterProbeLease(gen: number): Promise<ProbeLease> {
    const lease = await this._link.acquireProbe();
    if (lease !== null && gen === this._gen) return lease;
    lease?.release('neutral');
    this._releaseProbeSlot(gen);
    throw this._reject(this._rejection(this._o.clock.now()));
  }

  /**
   * Whether a resolved value is a failure (`isFailureResult`, compiled by the options: a throw reads as
   * false). A predicate that returned a promise raises `UsageError`: the call is then recorded as neither.
   */
  private _isFailureResult(result: unknown, gen: number, probe: boolean): boolean {
    try {
      return this._o.isFailureResult!(result);
    } catch (misuse) {
      this._onIgnored(gen, probe, misuse);
      throw misuse;
    }
  }

  // ---------------------------------------------------------------- permits and manual recording

  /**
   * For callers that make the call themselves but still want HALF-OPEN limits respected: resolves to a
   * permit (report exactly one outcome on it) or rejects with `CircuitOpenError`.
   */
  async acquirePermit(): Promise<Permit> {
    if (this._storeReady !== undefined) await this._storeReady;
    const clock = this._o.clock;
    if (this._code === DISABLED) return disabledPermit;
    const admitted = this._admit(clock.now());
    if (typeof admitted !== 'boolean') throw this._reject(admitted);
    const gen = this._gen;
    const lease = admitted && this._link.shared ? await this._clusterProbeLease(gen) : null;
    this._calls++;
    const started = clock.now();
    let settled = false;
    const once = (): boolean => {
      if (settled) return false;
      settled = true;
      return true;
    };
    return {
      success: () => {
        if (!once()) return;
        this._onSuccess(gen, admitted, clock.now() - started);
        lease?.release('success');
      },
      failure: (error?: unknown) => {
        if (!once()) return;
        let ignored: boolean;
        try {
          // Classified like `execute` (exclude / include / policy rejections); no error = a plain failure.
          ignored = error !== undefined && this._ignores(gen, admitted, error, undefined);
        } catch (misuse) {
          lease?.release('neutral');
          throw misuse;
        }
        if (ignored) {
          this._onIgnored(gen, admitted, error);
          lease?.release('neutral');
          return;
        }
        this._onFailure(gen, admitted, error, clock.now() - started);
        lease?.release('failure');
      },
      cancel: () => {
        if (!once()) return;
        this._onIgnored(gen, admitted, undefined);
        lease?.release('neutral');
      },
      timedOut: (error: TimeoutError) => {
        if (!once()) return;
        this._onTimeout(gen, admitted, error, clock.now() - started);
        lease?.release('failure');
      },
    };
  }

  /** Record a success for a call made outside the breaker (pybreaker's `call_succeeded`). */
  recordSuccess(): void {
    if (this._code === DISABLED) return;
    if (this._code === OPEN || this._code === HALF_OPEN) this._advance(this._o.clock.now());
    this._onSuccess(this._gen, false, 0);
  }

  /** Record a failure for a call made outside the breaker (pybreaker's `call_failed`). */
  recordFailure(error?: unknown): void {
    if (this._code === DISABLED) return;
    if (this._code === OPEN || this._code === HALF_OPEN) this._advance(this._o.clock.now());
    this._onFailure(this._gen, false, error, 0);
  }

  // ---------------------------------------------------------------- manual control

  /** Force OPEN for one open duration (then the usual HALF-OPEN probing). */
  open(): void {
    this._manual(OPEN);
  }

  /** Force CLOSED, keeping the lifetime totals. */
  close(): void {
    this._manual(CLOSED);
  }

  /** Hold OPEN until `close()` or `reset()`: no probes. */
  isolate(): void {
    this._manual(ISOLATED);
  }

  /** Let every call through unrecorded until `close()` or `reset()`. */
  disable(): void {
    this._manual(DISABLED);
  }

  /** Back to a new breaker's state: CLOSED, counts and totals cleared. */
  reset(): void {
    this._manual(CLOSED);
    this._epoch = this._gen; // calls still in flight belong to the old totals: their outcomes count nowhere
    this._writtenOff = [];
    this._lastFailureAt = null;
    this._lastError = undefined;
    this._hasLastError = false;
    this._calls = this._successes = this._failures = this._rejections = this._ignored = this._timeouts = 0;
    this._openingsTotal = 0;
    this._latency?.clear();
  }

  /**
   * A manual transition starts from the state `state` reads: a due OPEN -> HALF-OPEN move or probe
   * write-off happens first (so it counts, and its probe's late result counts nowhere).
   */
  private _manual(to: Code): void {
    const now = this._o.clock.now();
    this._advance(now);
    this._transition(to, undefined, now, 'manual');
  }

  /**
   * Detach from the state store (a RedisStore stops its subscription and re-reads for this breaker) and
   * drop every event handler. The breaker keeps working on local state. Registries call this on eviction.
   */
  dispose(): void {
    const link = this._link;
    this._link = memoryStore.attach();
    this._events = EventHub.none;
    void Promise.resolve(link.close()).catch(() => {});
  }

  // ---------------------------------------------------------------- events

  /** Subscribe to a typed event; returns the function that unsubscribes. */
  on<K extends EventName>(event: K, handler: CircuitBreakerEvents[K]): () => void {
    return this._hub().on(event, handler);
  }

  /** Attach a listener object (pybreaker-style); returns the function that detaches it. */
  addListener(listener: CircuitBreakerListener): () => void {
    return this._hub().attach(this, listener);
  }

  private _hub(): EventHub {
    if (this._events === EventHub.none) this._events = new EventHub();
    return this._events;
  }

  private _emit(event: EventName, a?: unknown, b?: unknown): void {
    this._events.emit(event, a, b);
  }

  // ---------------------------------------------------------------- snapshot

  /**
   * A plain, versioned snapshot (state, open-until, counts, window, totals) for `initialState`: JSON-safe,
   * times portable across processes (epoch ms and ages). Reading it performs a due OPEN -> HALF-OPEN move.
   */
  toJSON(): BreakerStateSnapshot {
    const state = this.state;
    const now = this._o.clock.now();
    const times = this._failTimes;
    const failTimes: number[] = [];
    if (times !== undefined) {
      const n = Math.min(this._consecutive, times.length);
      for (let k = n; k >= 1; k--) failTimes.push(times[(this._failHead - k + times.length) % times.length]!);
    }
    const hydratable = {
      state,
      openUntil: this._openUntil,
      openings: this._openings,
      consecutive: this._consecutive,
      failTimes,
      lastFailureAt: this._lastFailureAt,
      totals: this.stats().totals,
    };
    return toSnapshot(this.name, hydratable, this._window, now, this._wallNow());
  }

  /** Epoch ms for reported and exported times. */
  private _wallNow(): number {
    return this._o.wall.now();
  }

  /** Start from a validated snapshot (constructor only): fields set directly, no events, no store writes. */
  private _hydrate(snapshot: BreakerStateSnapshot): void {
    const now = this._o.clock.now();
    const h = fromSnapshot(snapshot, this._window, now, this._wallNow());
    this._code = CODES[h.state];
    this._openUntil = h.openUntil;
    this._openings = h.openings;
    this._probeProgressAt = now;
    this._consecutive = this._code === CLOSED ? h.consecutive : 0;
    const times = this._failTimes;
    if (times !== undefined && this._code === CLOSED) {
      const kept = h.failTimes.slice(-times.length);
      kept.forEach((t, i) => {
        times[i] = t;
      });
      this._failHead = kept.length % times.length;
    }
    this._lastFailureAt = h.lastFailureAt;
    const t = h.totals;
    this._calls = t.calls;
    this._successes = t.successes;
    this._failures = t.failures;
    this._rejections = t.rejections;
    this._ignored = t.ignored;
    this._timeouts = t.timeouts;
    this._openingsTotal = t.openings;
  }

  // ---------------------------------------------------------------- state machine

  /**
   * Admission: `false` = admitted as an ordinary call, `true` = admitted as a HALF-OPEN probe (slot taken),
   * otherwise the code of the state that refuses.
   */
  private _admit(now: number): boolean | Code {
    if (this._code === CLOSED) return false;
    this._advance(now);
    const code = this._code as Code; // _advance may have moved it
    if (code === CLOSED || code === DISABLED) return false;
    if (code === HALF_OPEN && this._probes < this._o.halfOpenMaxCalls) {
      if (this._probes === 0) this._probeProgressAt = now;
      this._probes++;
      return true;
    }
    return code;
  }

  /** Lazy transitions driven by time: OPEN -> HALF-OPEN, and a stuck HALF-OPEN probe -> OPEN. */
  private _advance(now: number): void {
    if (this._code === OPEN) {
      if (now >= this._openUntil) this._transition(HALF_OPEN, undefined, now, 'timer');
    } else if (
      this._code === HALF_OPEN &&
      this._probes > 0 &&
      now - this._probeProgressAt >= this._o.halfOpenTimeout
    ) {
      // A probe that never settles counts as failed, once: its late result counts nowhere (see _discards).
      // The write-off happened at the probe's deadline, whenever someone looks: the OPEN period runs from
      // there, so a breaker noticed late may already be due for HALF-OPEN again.
      const at = this._probeProgressAt + this._o.halfOpenTimeout;
      const error = new TimeoutError(this._o.halfOpenTimeout);
      if (this._writtenOff.push(this._gen) > 8) this._writtenOff.shift();
      this._countFailure(error, now - at);
      this._timeouts++;
      this._transition(OPEN, error, at, 'probe');
      this._emit('failure', error, undefined);
      if ((this._code as Code) === OPEN && now >= this._openUntil)
        this._transition(HALF_OPEN, undefined, now, 'timer');
    }
  }

  private _rejection(now: number): Code {
    this._advance(now);
    return this._code;
  }

  private _reject(code: Code, now = this._o.clock.now()): CircuitOpenError {
    this._rejections++;
    let retryAfter = 0;
    if (code === OPEN) retryAfter = this._openUntil - now;
    else if (code === ISOLATED) retryAfter = Number.POSITIVE_INFINITY;
    else if (code === HALF_OPEN) retryAfter = this._probeProgressAt + this._o.halfOpenTimeout - now;
    const error = CircuitOpenError.rejecting(this.name, NAMES[code]!, retryAfter);
    if (this._events.has('rejected')) this._emit('rejected', error);
    return error;
  }

  private _releaseProbeSlot(gen: number): void {
    if (gen === this._gen && this._code === HALF_OPEN && this._probes > 0) this._probes--;
  }

  /** Classify a thrown error and record it; returns the outcome. */
  private _settleError(
    gen: number,
    probe: boolean,
    err: unknown,
    signal: AbortSignal | undefined,
    timedOut: boolean,
    elapsed: number,
  ): number {
    if (timedOut) {
      this._onTimeout(gen, probe, (err as DeadlineExceeded).error, elapsed);
      return FAILURE;
    }
    if (this._ignores(gen, probe, err, signal)) {
      this._onIgnored(gen, probe, err);
      return IGNORED;
    }
    this._onFailure(gen, probe, err, elapsed);
    return FAILURE;
  }

  /**
   * Whether an error counts neither way: the caller's own abort, a policy's rejection, an excluded error,
   * or one outside `include`. A predicate that returned a promise raises `UsageError`; the call is then
   * recorded as neither before it propagates.
   */
  private _ignores(gen: number, probe: boolean, err: unknown, signal: AbortSignal | undefined): boolean {
    try {
      return (
        signal?.aborted === true || // the caller gave up: the provider did nothing wrong
        isPolicyRejection(err) ||
        matchesAny(this._o.exclude, err) ||
        (this._o.include !== undefined && !matchesAny(this._o.include, err))
      );
    } catch (misuse) {
      this._onIgnored(gen, probe, err);
      throw misuse;
    }
  }

  /**
   * True for an outcome that must count nowhere (no totals, latency or event): a call admitted before the last
   * `reset()`, or a HALF-OPEN probe already written off by `halfOpenTimeout` (counted once, as that timeout).
   */
  private _discards(gen: number, probe: boolean): boolean {
    return gen < this._epoch || (probe && this._writtenOff.includes(gen));
  }

  private _onIgnored(gen: number, probe: boolean, err: unknown): void {
    if (this._code === HALF_OPEN) this._advance(this._o.clock.now()); // a due write-off first (see _onSuccess)
    if (this._discards(gen, probe)) return;
    this._ignored++;
    if (probe) this._releaseProbeSlot(gen);
    this._emit('ignored', err);
  }

  private _onSuccess(gen: number, probe: boolean, elapsed: number): void {
    // A probe that outlived halfOpenTimeout was written off, whether or not anyone looked in the meantime:
    // that happens first, so its late result counts nowhere and any outcome after it is recorded after it.
    if (this._code === HALF_OPEN) this._advance(this._o.clock.now());
    if (gen !== this._gen && this._discards(gen, probe)) return;
    this._successes++;
    this._latency?.record(elapsed);
    if (gen === this._gen) {
      if (this._code === CLOSED) {
        if (this._consecutive !== 0) this._resetStreak();
        if (this._window !== undefined) {
          const slowMs = this._o.window!.slowDuration;
          const slow = slowMs !== undefined && elapsed >= slowMs;
          const now = this._o.clock.now();
          this._window.record(now, false, slow);
          // The minimum call count may be reached by a success (resilience4j checks after every call).
          if (this._shouldTrip(now)) this._transition(OPEN, undefined, now, 'trip');
        }
      } else if (this._code === HALF_OPEN && probe) {
        this._probes--;
        this._probeSuccesses++;
        const now = this._o.clock.now();
        this._probeProgressAt = now;
        if (this._probeSuccesses >= this._o.successThreshold)
          this._transition(CLOSED, undefined, now, 'probe');
      } else if (this._code === HALF_OPEN) {
        // A manual recordSuccess() in HALF-OPEN counts as a probe success.
        this._probeSuccesses++;
        if (this._probeSuccesses >= this._o.successThreshold) {
          this._transition(CLOSED, undefined, this._o.clock.now(), 'probe');
        }
      }
    }
    if (this._events.hasSuccess) this._emit('success', this._latency === undefined ? undefined : elapsed);
  }

  private _onFailure(gen: number, probe: boolean, err: unknown, elapsed: number): void {
    const now = this._o.clock.now();
    if (this._code === HALF_OPEN) this._advance(now); // a due write-off first (see _onSuccess)
    if (gen !== this._gen && this._discards(gen, probe)) return;
    this._latency?.record(elapsed);
    this._countFailure(err);
    if (gen === this._gen) {
      if (this._code === CLOSED) {
        if (this._failTimes !== undefined) {
          this._failTimes[this._failHead] = now;
          this._failHead = (this._failHead + 1) % this._failTimes.length;
        }
        this._consecutive++;
        if (this._window !== undefined) {
          const slowMs = this._o.window!.slowDuration;
          this._window.record(now, true, slowMs !== undefined && elapsed >= slowMs);
        }
        if (this._link.shared) this._link.failed(this.failCount);
        if (this._code === CLOSED && gen === this._gen && this._shouldTrip(now))
          this._transition(OPEN, err, now, 'trip');
      } else if (this._code === HALF_OPEN) {
        if (probe) this._probes--;
        this._transition(OPEN, err, now, 'probe');
      }
    }
    this._emit('failure', err, this._latency === undefined ? undefined : elapsed);
  }

  /**
   * A call's own deadline passed: a failure, also counted in `timeouts` unless the outcome counts nowhere.
   * A probe's write-off that fell due first is applied before deciding (then this timeout counts nowhere).
   */
  private _onTimeout(gen: number, probe: boolean, err: unknown, elapsed: number): void {
    if (this._code === HALF_OPEN) this._advance(this._o.clock.now());
    if (!this._discards(gen, probe)) this._timeouts++;
    this._onFailure(gen, probe, err, elapsed);
  }

  /** Counts a failure that happened `ago` ms before now (a write-off noticed late is dated at its deadline). */
  private _countFailure(err: unknown, ago = 0): void {
    this._failures++;
    this._lastFailureAt = this._o.wall.now() - ago; // reported: epoch ms (durations use the monotonic clock)
    this._lastError = err;
    this._hasLastError = true;
  }

  private _resetStreak(): void {
    this._consecutive = 0;
    this._failHead = 0;
    if (this._link.shared) this._link.recovered();
  }

  /** Failures of the current streak still inside `failWindow`. */
  private _liveFailures(now: number): number {
    const times = this._failTimes!;
    const horizon = now - this._o.failWindow!;
    const n = Math.min(this._consecutive, times.length);
    let live = 0;
    for (let k = 1; k <= n; k++) {
      const t = times[(this._failHead - k + times.length) % times.length]!;
      if (t > horizon) live++;
      else break; // older entries are older still
    }
    return live;
  }

  private _counts(now: number): Counts {
    const t = this._window?.totals(now);
    return {
      consecutiveFailures: this._failTimes === undefined ? this._consecutive : this._liveFailures(now),
      windowCalls: t?.calls ?? 0,
      windowFailures: t?.failures ?? 0,
      windowSlowCalls: t?.slowCalls ?? 0,
    };
  }

  private _shouldTrip(now: number): boolean {
    const o = this._o;
    const counts = this._counts(now);
    // A throwing rule reads as false; one that returned a promise raises UsageError (see options).
    if (o.shouldTrip !== undefined) return o.shouldTrip(counts);
    if (o.consecutiveRule && counts.consecutiveFailures >= o.failMax) return true;
    const w = o.window;
    if (w === undefined || counts.windowCalls < w.minimumCalls) return false;
    if (
      w.failureThreshold !== undefined &&
      counts.windowFailures / counts.windowCalls >= w.failureThreshold
    ) {
      return true;
    }
    return w.slowThreshold !== undefined && counts.windowSlowCalls / counts.windowCalls >= w.slowThreshold;
  }

  private _transition(to: Code, cause: unknown, now: number, why: TransitionCause | 'store'): void {
    const from = this._code;
    this._gen++;
    this._code = to;
    this._probes = 0;
    this._probeSuccesses = 0;
    if (to === CLOSED || to === DISABLED) {
      this._consecutive = 0;
      this._failHead = 0;
      this._openings = 0;
      this._window?.clear();
    } else if (to === OPEN) {
      // Re-opening an open circuit (a second manual open()) restarts the period; it is not a new opening.
      if (from !== OPEN) {
        this._openings++;
        this._openingsTotal++;
      }
      let ms = this._o.openDuration({ openings: this._openings, error: cause });
      const hint = retryAfterOf(cause);
      if (hint !== undefined && this._o.maxRetryAfter > 0)
        ms = Math.max(ms, Math.min(hint, this._o.maxRetryAfter));
      this._openUntil = now + ms;
    } else if (to === HALF_OPEN) {
      this._probeProgressAt = now;
    } else if (to === ISOLATED && from !== ISOLATED) {
      this._openingsTotal++;
    }
    if (why !== 'store' && this._link.shared) {
      this._link.transitioned(NAMES[from]!, { state: NAMES[to]!, openUntil: this._openUntil }, why);
    }
    if (from !== to) this._emit('stateChange', NAMES[from], NAMES[to]);
  }

  /** A state decided elsewhere (another instance, or the store on pooled evidence). */
  private _adopt(snapshot: SharedSnapshot): void {
    const to = CODES[snapshot.state];
    if (to === undefined) return;
    const now = this._o.clock.now();
    if (to === this._code && (to !== OPEN || snapshot.openUntil === this._openUntil)) return;
    if (to === OPEN) {
      const from = this._code;
      this._gen++;
      this._code = OPEN;
      this._probes = 0;
      this._probeSuccesses = 0;
      if (from !== OPEN) {
        this._openings++;
        this._openingsTotal++;
      }
      this._openUntil = snapshot.openUntil;
      if (from !== OPEN) this._emit('stateChange', NAMES[from], 'open');
      return;
    }
    this._transition(to, undefined, now, 'store');
  }
}

const noStreamDeadlines: StreamDeadlines = Object.freeze({});

const disabledPermit: Permit = { success() {}, failure() {}, cancel() {}, timedOut() {} };
