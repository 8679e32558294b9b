/**
 * The circuit breaker's state machine: its state and generation, admission (HALF-OPEN probe slots), the
 * outcomes that move it, the trip rule and the transitions, lazy ones included. The rest lives next to it
 * and works on the members tagged internal (the `BreakerInternals` port in internals.ts, stripped from the
 * published types): the call paths, `tryExecute` and `protect` (calls.ts), error classification
 * (outcome.ts), permits (permit.ts), `stats()` (stats.ts), `toJSON()` and `initialState` (hydration.ts),
 * and what the constructor builds from the options (setup.ts).
 */
import { protect, runFast, runGuarded, runTimed, tryExecute } from './calls.js';
import type { CountWindow } from './count-window.js';
import type { DeadlineQueue } from './deadlines.js';
import { CircuitOpenError, TimeoutError } from './errors.js';
import { type CircuitBreakerEvents, EventHub, type EventName } from './events.js';
import type { FailureTimes } from './fail-times.js';
import { exportState, hydrate } from './hydration.js';
import type { LatencyHistogram } from './latency.js';
import {
  type BreakerRef,
  type CircuitBreakerListener,
  type CircuitBreakerOptions,
  type Counts,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { acquirePermit } from './permit.js';
import type { CircuitBreakerStats, ExecuteResult, Permit } from './results.js';
import { attachStore, holdUntilReady, partsFor } from './setup.js';
import type { BreakerStateSnapshot } from './snapshot.js';
import {
  CLOSED,
  STATE_CODES as CODES,
  DISABLED,
  HALF_OPEN,
  ISOLATED,
  STATE_NAMES as NAMES,
  OPEN,
  type StateCode,
} from './states.js';
import { statsOf } from './stats.js';
import {
  memoryStore,
  type SharedSnapshot,
  type StoreLink,
  type StoreStatus,
  type TransitionCause,
} from './store.js';
import { runStream, type StreamDeadlines, type StreamIterator, type StreamOperation } from './stream.js';
import { type CircuitState, type Operation, type Policy, retryAfterOf } from './types.js';
import { operationError } from './user-code.js';
import type { SlidingWindow } from './window.js';

export type { CircuitBreakerEvents } from './events.js';
export type { CircuitBreakerStats, ExecuteResult, Permit } from './results.js';

/**
 * A circuit breaker: one small state machine with lazy transitions (no timers), a generation number that
 * makes results from an earlier state harmless, and a success path that costs a state check, a counter
 * and an `await`.
 */
export class CircuitBreaker implements Policy, BreakerRef {
  readonly name: string;
  /** @internal */ readonly _o: ResolvedOptions;
  /** @internal */ _link: StoreLink;
  /** @internal The CLOSED success path needs nothing but the generation check (no timeout, window, latency). */
  _fast: boolean;
  /** @internal The CLOSED success path needs a deadline and nothing else (no window, no latency). */
  _timedFast: boolean;
  /** @internal A shared store's first read still in flight: calls wait for it (StoreLink.ready), then this is cleared. */
  _storeReady: Promise<void> | undefined;

  /** @internal */ _code: StateCode;
  /** @internal Bumped by every transition: an outcome counts only toward the state it started in. */
  _gen = 0;
  // CLOSED bookkeeping: the failure streak (a success ends it), its times (only with failWindow), the window.
  /** @internal */ _consecutive = 0;
  /** @internal */ readonly _failTimes: FailureTimes | undefined;
  /** @internal */ readonly _window: SlidingWindow | CountWindow | undefined;
  // OPEN bookkeeping: until when, and consecutive openings since the last CLOSED (feeds backoff).
  /** @internal */ _openUntil = 0;
  /** @internal */ _openings = 0;
  // HALF-OPEN bookkeeping; `_probeProgressAt`: last time a probe was admitted into an empty slot set or settled.
  /** @internal */ _probes = 0;
  /** @internal */ _probeSuccesses = 0;
  /** @internal */ _probeProgressAt = 0;
  // Figures. `_hasLastError`: a failure was recorded since the last reset (`_lastError` may be `undefined`).
  /** @internal */ _lastFailureAt: number | null = null;
  /** @internal */ _lastError: unknown = undefined;
  /** @internal */ _hasLastError = false;
  /** @internal Outcomes of calls admitted before the last `reset()` (generation < this) count nowhere. */
  _epoch = 0;
  /** Generations whose HALF-OPEN probes were written off by `halfOpenTimeout` (last few): their late results count nowhere. */
  private _writtenOff: number[] = [];
  // Lifetime totals (stats().totals).
  /** @internal */ _calls = 0;
  /** @internal */ _successes = 0;
  /** @internal */ _failures = 0;
  /** @internal */ _rejections = 0;
  /** @internal */ _ignored = 0;
  /** @internal */ _timeouts = 0;
  /** @internal */ _openingsTotal = 0;
  /** @internal */ readonly _latency: LatencyHistogram | undefined;
  /** @internal Shared empty hub until the first subscription (an idle breaker pays nothing for events). */
  _events: EventHub = EventHub.none;
  /** @internal One deadline queue per breaker: every call has the same timeout. */
  readonly _deadlines: DeadlineQueue | undefined;
  private readonly _streamDeadlines: StreamDeadlines;

  constructor(options: CircuitBreakerOptions = {}) {
    const o = resolveOptions(options);
    this._o = o;
    this.name = o.name;
    this._code = o.disabled ? DISABLED : CLOSED;
    const parts = partsFor(o);
    this._failTimes = parts.failTimes;
    this._window = parts.window;
    this._latency = parts.latency;
    this._deadlines = parts.deadlines;
    this._streamDeadlines = parts.streamDeadlines;
    this._fast = parts.fast;
    this._timedFast = parts.timedFast;
    for (const listener of o.listeners) this._hub().attach(this, listener);
    this._link = attachStore(this, o);
    if (o.initialState !== undefined) hydrate(this, o.initialState);
    // Until the shared state is known, every call takes the guarded path, which waits for it.
    if (this._link.ready !== undefined) holdUntilReady(this, this._link.ready);
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
    return this._failTimes.live(this._o.clock.now(), this._consecutive);
  }

  get lastFailureAt(): number | null {
    return this._lastFailureAt;
  }

  /** ms until a probe may run: 0 when calls are admitted, Infinity when isolated. */
  get retryAfter(): number {
    if (this._code === OPEN || this._code === HALF_OPEN) this._advance(this._o.clock.now());
    const code = this._code;
    if (code === CLOSED || code === DISABLED) return 0;
    if (code === HALF_OPEN && this._probes < this._o.halfOpenMaxCalls) return 0;
    return Math.max(0, this._retryAfter(code, this._o.clock.now()));
  }

  /** Which store holds the state, and whether it is reachable. */
  get store(): { kind: string; status: StoreStatus } {
    return { kind: this._link.kind, status: this._link.status };
  }

  /** A plain-object snapshot: state, counts, window figures, latency summary (see `CircuitBreakerStats`). */
  stats(): CircuitBreakerStats {
    return statsOf(this);
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
      if (this._fast) return runFast(this, fn, signal);
      if (this._timedFast) return runTimed(this, fn, signal);
    }
    return runGuarded(this, fn, signal);
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
    return tryExecute(this, fn, signal);
  }

  /**
   * Wrap a function: the result has the same signature, and every call goes through the breaker. The
   * receiver is kept (`obj.m = breaker.protect(obj.m); obj.m()` sees `this === obj`), as are the arguments.
   * Throws `UsageError` (a TypeError) at once when `fn` is not a function.
   */
  protect<This, A extends unknown[], R>(
    fn: (this: This, ...args: A) => R | PromiseLike<R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    return protect(this, fn);
  }

  // ---------------------------------------------------------------- permits and manual recording

  /**
   * For callers that make the call themselves but still want HALF-OPEN limits respected: resolves to a
   * permit (report exactly one outcome on it) or rejects with `CircuitOpenError`.
   */
  acquirePermit(): Promise<Permit> {
    return acquirePermit(this);
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
  private _manual(to: StateCode): void {
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

  /**
   * A plain, versioned snapshot (state, open-until, counts, window, totals) for `initialState`: JSON-safe,
   * times portable across processes (epoch ms and ages). Reading it performs a due OPEN -> HALF-OPEN move.
   */
  toJSON(): BreakerStateSnapshot {
    return exportState(this);
  }

  // ---------------------------------------------------------------- admission

  /**
   * @internal Admission: `false` = admitted as an ordinary call, `true` = admitted as a HALF-OPEN probe
   * (slot taken), otherwise the code of the state that refuses.
   */
  _admit(now: number): boolean | StateCode {
    if (this._code === CLOSED) return false;
    this._advance(now);
    const code = this._code as StateCode; // _advance may have moved it
    if (code === CLOSED || code === DISABLED) return false;
    if (code === HALF_OPEN && this._probes < this._o.halfOpenMaxCalls) {
      if (this._probes === 0) this._probeProgressAt = now;
      this._probes++;
      return true;
    }
    return code;
  }

  /** @internal Count a refusal in state `code` and make its error (no stack capture). */
  _reject(code: StateCode, now = this._o.clock.now()): CircuitOpenError {
    this._rejections++;
    const error = CircuitOpenError.rejecting(this.name, NAMES[code]!, this._retryAfter(code, now));
    if (this._events.has('rejected')) this._events.emit('rejected', error);
    return error;
  }

  /** ms until state `code` may admit a probe (unclamped). */
  private _retryAfter(code: StateCode, now: number): number {
    if (code === OPEN) return this._openUntil - now;
    if (code === ISOLATED) return Number.POSITIVE_INFINITY;
    if (code === HALF_OPEN) return this._probeProgressAt + this._o.halfOpenTimeout - now;
    return 0;
  }

  /** @internal Give back a HALF-OPEN probe slot taken in generation `gen` (a no-op once the state moved on). */
  _releaseProbeSlot(gen: number): void {
    if (gen === this._gen && this._code === HALF_OPEN && this._probes > 0) this._probes--;
  }

  // ---------------------------------------------------------------- outcomes

  /**
   * @internal True for an outcome that must count nowhere (no totals, latency or event): a call admitted
   * before the last `reset()`, or a HALF-OPEN probe already written off by `halfOpenTimeout` (counted once,
   * as that timeout).
   */
  _discards(gen: number, probe: boolean): boolean {
    return gen < this._epoch || (probe && this._writtenOff.includes(gen));
  }

  /** @internal A call that counts neither way (caller's abort, excluded error, cancelled permit). */
  _onIgnored(gen: number, probe: boolean, err: unknown): void {
    if (this._code === HALF_OPEN) this._advance(this._o.clock.now()); // a due write-off first (see _onSuccess)
    if (this._discards(gen, probe)) return;
    this._ignored++;
    if (probe) this._releaseProbeSlot(gen);
    this._events.emit('ignored', err);
  }

  /** @internal A success of a call admitted in generation `gen`; `elapsed` in ms (0 when not measured). */
  _onSuccess(gen: number, probe: boolean, elapsed: number): void {
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
      } else if (this._code === HALF_OPEN) {
        // A probe's success; a manual recordSuccess() in HALF-OPEN counts as one too (holding no slot).
        const now = this._o.clock.now();
        if (probe) {
          this._probes--;
          this._probeProgressAt = now;
        }
        if (++this._probeSuccesses >= this._o.successThreshold)
          this._transition(CLOSED, undefined, now, 'probe');
      }
    }
    if (this._events.hasSuccess)
      this._events.emit('success', this._latency === undefined ? undefined : elapsed);
  }

  /** @internal A failure of a call admitted in generation `gen`; `elapsed` in ms (0 when not measured). */
  _onFailure(gen: number, probe: boolean, err: unknown, elapsed: number): void {
    const now = this._o.clock.now();
    if (this._code === HALF_OPEN) this._advance(now); // a due write-off first (see _onSuccess)
    if (gen !== this._gen && this._discards(gen, probe)) return;
    this._latency?.record(elapsed);
    this._countFailure(err);
    if (gen === this._gen) {
      if (this._code === CLOSED) {
        this._failTimes?.record(now);
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
    this._events.emit('failure', err, this._latency === undefined ? undefined : elapsed);
  }

  /**
   * @internal A call's own deadline passed: a failure, also counted in `timeouts` unless the outcome counts
   * nowhere. A probe's write-off that fell due first is applied before deciding (then this timeout counts
   * nowhere).
   */
  _onTimeout(gen: number, probe: boolean, err: unknown, elapsed: number): void {
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

  /** @internal The failure streak ended (a success in CLOSED). */
  _resetStreak(): void {
    this._consecutive = 0;
    this._failTimes?.clear();
    if (this._link.shared) this._link.recovered();
  }

  // ---------------------------------------------------------------- trip rule and transitions

  private _shouldTrip(now: number): boolean {
    const o = this._o;
    const t = this._window?.totals(now);
    const counts: Counts = {
      consecutiveFailures:
        this._failTimes === undefined ? this._consecutive : this._failTimes.live(now, this._consecutive),
      windowCalls: t?.calls ?? 0,
      windowFailures: t?.failures ?? 0,
      windowSlowCalls: t?.slowCalls ?? 0,
    };
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
      this._events.emit('failure', error, undefined);
      if ((this._code as StateCode) === OPEN && now >= this._openUntil)
        this._transition(HALF_OPEN, undefined, now, 'timer');
    }
  }

  /**
   * Move to `to` in a new generation. `openUntil` is given for an OPEN state decided by the store (the
   * open period is then not computed here); `why` is 'store' for every state the store decided.
   */
  private _transition(
    to: StateCode,
    cause: unknown,
    now: number,
    why: TransitionCause | 'store',
    openUntil?: number,
  ): void {
    const from = this._code;
    this._gen++;
    this._code = to;
    this._probes = 0;
    this._probeSuccesses = 0;
    if (to === CLOSED || to === DISABLED) {
      this._consecutive = 0;
      this._failTimes?.clear();
      this._openings = 0;
      this._window?.clear();
    } else if (to === OPEN) {
      // Re-opening an open circuit (a second manual open()) restarts the period; it is not a new opening.
      if (from !== OPEN) {
        this._openings++;
        this._openingsTotal++;
      }
      if (openUntil !== undefined) this._openUntil = openUntil;
      else {
        let ms = this._o.openDuration({ openings: this._openings, error: cause });
        const hint = retryAfterOf(cause);
        if (hint !== undefined && this._o.maxRetryAfter > 0)
          ms = Math.max(ms, Math.min(hint, this._o.maxRetryAfter));
        this._openUntil = now + ms;
      }
    } else if (to === HALF_OPEN) {
      this._probeProgressAt = now;
    } else if (to === ISOLATED && from !== ISOLATED) {
      this._openingsTotal++;
    }
    if (why !== 'store' && this._link.shared) {
      this._link.transitioned(NAMES[from]!, { state: NAMES[to]!, openUntil: this._openUntil }, why);
    }
    if (from !== to) this._events.emit('stateChange', NAMES[from], NAMES[to]);
  }

  /** @internal A state decided elsewhere (another instance, or the store on pooled evidence). */
  _adopt(snapshot: SharedSnapshot): void {
    const to = CODES[snapshot.state];
    if (to === undefined) return;
    if (to === this._code && (to !== OPEN || snapshot.openUntil === this._openUntil)) return;
    const now = this._o.clock.now();
    this._transition(to, undefined, now, 'store', to === OPEN ? snapshot.openUntil : undefined);
  }
}
