import type { CircuitState } from './types.js';

/**
 * The state-store seam. The breaker's state machine always runs locally (so the success path never waits
 * on I/O); a store only hears about what happened and may impose a state decided elsewhere.
 *
 * - The default `MemoryStore` is not shared: the breaker skips every hook on it.
 * - A shared store (`RedisStore` from `tripswitch/redis`) publishes transitions, pools failure evidence
 *   across instances, grants the single cluster-wide HALF-OPEN probe, and pushes remote decisions back
 *   through `StoreSink.adopt`.
 */
export interface StateStore {
  attach(sink: StoreSink, config: StoreBreakerConfig): StoreLink;
}

/** The breaker-side settings a store needs to take decisions on the cluster's evidence. */
export interface StoreBreakerConfig {
  readonly failMax: number;
  readonly failWindow: number | undefined;
  /** Open duration for the next opening, in ms (already evaluated when openDuration is a function). */
  nextOpenDuration(): number;
  readonly halfOpenTimeout: number;
  /** The breaker's clock (ms). Shared stores convert server times to it; Date.now() when absent. */
  now?(): number;
  /** Probes admitted concurrently in HALF-OPEN; shared stores grant this many leases cluster-wide (default 1). */
  readonly halfOpenMaxCalls?: number;
}

/** Why the breaker moved: lets a shared store tell an automatic trip from an operator's action. */
export type TransitionCause = 'trip' | 'probe' | 'timer' | 'manual';

/** A state as the cluster sees it. Times are on the breaker's own clock (stores convert from server time). */
export interface SharedSnapshot {
  readonly state: CircuitState;
  /** When the state is 'open': the breaker-clock time at which a probe may run. */
  readonly openUntil: number;
}

/** What the breaker exposes to its store. */
export interface StoreSink {
  readonly name: string;
  /** Apply a state decided elsewhere (another instance, or the store on pooled evidence). */
  adopt(snapshot: SharedSnapshot): void;
  /** The store lost (`degraded`) or regained (`connected`) its backend; the breaker reports it as an event. */
  storeStatus(status: StoreStatus, error?: unknown): void;
}

export type StoreStatus = 'connected' | 'degraded';

/** What a store gives back to one breaker. */
export interface StoreLink {
  /** 'memory', 'redis', … — shown in stats and health output. */
  readonly kind: string;
  /** False for stores that hold nothing beyond the breaker itself: the breaker then calls no hook at all. */
  readonly shared: boolean;
  /** Current backend status. */
  readonly status: StoreStatus;
  /**
   * Set by shared stores while the link's first read of the shared state is in flight: settles (never
   * rejects) once the read completed or the store gave up waiting (bounded by its command timeout, after
   * which the breaker runs on local state and hears a `storeStatus` event). The breaker admits no call
   * before it settles, so a breaker created while the cluster is OPEN never lets a call through.
   */
  readonly ready?: Promise<void> | undefined;
  /** The breaker moved from `from` to `snapshot.state` by its own decision (trip, probe result, manual action). */
  transitioned(from: CircuitState, snapshot: SharedSnapshot, cause?: TransitionCause): void;
  /** A call failed while CLOSED. `failCount` is the breaker's local count after this failure. */
  failed(failCount: number): void;
  /** The first success after one or more failures while CLOSED (consecutive counts reset). */
  recovered(): void;
  /**
   * Ask for the right to send a HALF-OPEN probe. Resolves to a lease, or null when another instance holds it.
   * Called only in HALF-OPEN, never on the success path.
   */
  acquireProbe(): ProbeLease | null | Promise<ProbeLease | null>;
  /** Stop listening and release resources. */
  close(): void | Promise<void>;
}

export interface ProbeLease {
  /** Report the probe's outcome; a lease that has expired meanwhile is ignored by the store. */
  release(outcome: 'success' | 'failure' | 'neutral'): void;
  /**
   * The probe showed a sign of life (a stream chunk): keep the lease for another full lease period from
   * now. Optional; a store may throttle it. Without it a lease lasts its fixed period from acquisition.
   */
  extend?(): void;
}

const grantedLease: ProbeLease = { release() {} };

const memoryLink: StoreLink = {
  kind: 'memory',
  shared: false,
  status: 'connected',
  transitioned() {},
  failed() {},
  recovered() {},
  acquireProbe: () => grantedLease,
  close() {},
};

/** The default store: state lives in the breaker object itself, nothing is shared. */
export class MemoryStore implements StateStore {
  attach(): StoreLink {
    return memoryLink;
  }
}

export const memoryStore = new MemoryStore();
