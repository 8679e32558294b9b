/**
 * `tripswitch`: the circuit breaker, its registry and the resilience policies (retry, timeout, bulkhead,
 * fallback, pipeline).
 * @module tripswitch
 */
export type { ExponentialOpenDurationOptions } from './core/backoff.js';
export { exponentialOpenDuration } from './core/backoff.js';
export type {
  CircuitBreakerEvents,
  CircuitBreakerStats,
  ExecuteResult,
  Permit,
} from './core/breaker.js';
export { CircuitBreaker } from './core/breaker.js';
export {
  BulkheadRejectedError,
  CircuitOpenError,
  isPolicyRejection,
  RetryBudgetExhaustedError,
  TimeoutError,
  UsageError,
} from './core/errors.js';
export type { LatencySummary } from './core/latency.js';
export type {
  BreakerRef,
  CircuitBreakerListener,
  CircuitBreakerOptions,
  Counts,
  ErrorMatcher,
  FailureRateOptions,
  OpenDurationContext,
  SlowCallOptions,
  StreamTimeoutOptions,
} from './core/options.js';
export { DEFAULTS } from './core/options.js';
export type {
  BreakerStateSnapshot,
  WindowSnapshotCount,
  WindowSnapshotTime,
} from './core/snapshot.js';
export { SNAPSHOT_VERSION } from './core/snapshot.js';
export type {
  ProbeLease,
  SharedSnapshot,
  StateStore,
  StoreBreakerConfig,
  StoreLink,
  StoreSink,
  StoreStatus,
  TransitionCause,
} from './core/store.js';
export { MemoryStore, memoryStore } from './core/store.js';
export type { StreamIterator, StreamOperation } from './core/stream.js';
export { StreamAbandonedError } from './core/stream.js';
export type {
  CallContext,
  CircuitState,
  Clock,
  Operation,
  Policy,
  RetryAfterHint,
  StreamPolicy,
} from './core/types.js';
export {
  defaultContext,
  monotonicClock,
  neverAbortedSignal,
  retryAfterOf,
  systemClock,
} from './core/types.js';
export type { LoggerLike } from './integrations/logging.js';
export { loggingListener } from './integrations/logging.js';
export * from './policies/index.js';
export type { BreakerRegistryOptions, BreakerSnapshot, RemovalReason } from './registry.js';
export { BreakerRegistry } from './registry.js';
