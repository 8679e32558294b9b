/**
 * The breaker as its helper modules see it (calls, outcome, permit, stats, hydration, setup): the members
 * of `CircuitBreaker` tagged internal (JSDoc), each documented there. They are public in the source so these
 * modules can use them with type checking, and stripped from the published declarations (`stripInternal`),
 * so users see none of them. The helpers take the breaker through this interface instead of importing its
 * class: breaker.ts depends on them, never the other way round.
 */
import type { CountWindow } from './count-window.js';
import type { DeadlineQueue } from './deadlines.js';
import type { CircuitOpenError } from './errors.js';
import type { EventHub } from './events.js';
import type { FailureTimes } from './fail-times.js';
import type { LatencyHistogram } from './latency.js';
import type { ResolvedOptions } from './options.js';
import type { StateCode } from './states.js';
import type { SharedSnapshot, StoreLink, StoreStatus } from './store.js';
import type { CircuitState, Operation } from './types.js';
import type { SlidingWindow } from './window.js';

export interface BreakerInternals {
  // Public API the helpers use.
  readonly name: string;
  readonly state: CircuitState;
  readonly failCount: number;
  readonly retryAfter: number;
  readonly store: { kind: string; status: StoreStatus };
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T>;

  // Configuration and collaborators, fixed at construction (the link changes on dispose()).
  readonly _o: ResolvedOptions;
  readonly _link: StoreLink;
  readonly _window: SlidingWindow | CountWindow | undefined;
  readonly _failTimes: FailureTimes | undefined;
  readonly _latency: LatencyHistogram | undefined;
  readonly _deadlines: DeadlineQueue | undefined;
  readonly _events: EventHub;
  _fast: boolean;
  _timedFast: boolean;
  _storeReady: Promise<void> | undefined;

  // State (set directly only by hydration, at construction).
  _code: StateCode;
  readonly _gen: number;
  readonly _epoch: number;
  _consecutive: number;
  _openUntil: number;
  _openings: number;
  readonly _probes: number;
  readonly _probeSuccesses: number;
  _probeProgressAt: number;
  _lastFailureAt: number | null;
  readonly _lastError: unknown;
  readonly _hasLastError: boolean;

  // Lifetime totals (counted by the call paths; restored by hydration).
  _calls: number;
  _successes: number;
  _failures: number;
  _rejections: number;
  _ignored: number;
  _timeouts: number;
  _openingsTotal: number;

  // Admission and the state machine's inputs.
  _admit(now: number): boolean | StateCode;
  _reject(code: StateCode, now?: number): CircuitOpenError;
  _releaseProbeSlot(gen: number): void;
  _discards(gen: number, probe: boolean): boolean;
  _onSuccess(gen: number, probe: boolean, elapsed: number): void;
  _onFailure(gen: number, probe: boolean, err: unknown, elapsed: number): void;
  _onTimeout(gen: number, probe: boolean, err: unknown, elapsed: number): void;
  _onIgnored(gen: number, probe: boolean, err: unknown): void;
  _resetStreak(): void;
  _adopt(snapshot: SharedSnapshot): void;
}
