// The tracing port for model calls: what the gateway says about each call it makes (which breaker, what it
// decided, how the call ended), in the domain's own words. An adapter turns it into spans (OpenTelemetry:
// adapters/telemetry/otel.ts); the domain never sees a tracing SDK or API. No prompt, answer text, token or
// secret is ever part of it: only names, states, counts and classification reasons.
import type { LlmUsage } from './llm.js';

/**
 * What the bulkhead and the breaker behind it decided for the call:
 * - `admitted`: at least one attempt reached the model;
 * - `rejected_open` / `rejected_half_open` / `rejected_isolated`: the circuit refused it (`CircuitOpenError`;
 *   half-open means its probe slot was taken);
 * - `rejected_bulkhead`: the bulkhead in front of the breaker was full, or had no slot within its wait bound
 *   (the breaker never saw it: never counted against the circuit);
 * - `cancelled`: the caller gave up before any attempt was made.
 */
export type AdmissionDecision =
  | 'admitted'
  | 'rejected_open'
  | 'rejected_half_open'
  | 'rejected_isolated'
  | 'rejected_bulkhead'
  | 'cancelled';

/**
 * How the call ended, as the breaker counted it: `success`; `failure` (an upstream failure that counts against
 * the circuit); `timeout` (the breaker's per-call or a stream's first-token/idle timeout; counts as a failure);
 * `ignored` (not counted: a client error, or the caller gave up); `rejected` (no attempt ran, see the decision).
 */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'rejected';

/** Known when a model call starts (before admission). */
export interface ModelCallStart {
  /** `complete` (one reply) or `stream` (tokens as they arrive). */
  readonly operation: 'complete' | 'stream';
  /** Provider of the model behind the gateway: `openai`, `hf-inference`, `sim`. */
  readonly provider: string;
  /** Requested model name. */
  readonly model: string;
  readonly breakerName: string;
  /** The breaker's state just before admission: `closed`, `open`, `half-open`, `isolated`, `disabled`. */
  readonly breakerState: string;
}

/** Known when a model call ends. */
export interface ModelCallEnd {
  readonly decision: AdmissionDecision;
  readonly outcome: CallOutcome;
  /** Requests made to the model (0 when rejected; 2 when the budgeted retry ran). */
  readonly attempts: number;
  /** The breaker's state when the call ended (a failure may just have opened it). */
  readonly breakerState: string;
  /** On failure or rejection: the `metadata.fallback_reason` it maps to (`circuit_open`, `timeout`, …). */
  readonly fallbackReason?: string;
  /**
   * On failure or rejection: a low-cardinality error class — `circuit_open`, `bulkhead_full`, `timeout`, or the
   * `tripswitch/http` classification reason (`server_error`, `rate_limited`, `client_error`, `aborted`, …);
   * `cancelled` when the caller gave up (its signal aborted, or it stopped reading a stream).
   */
  readonly errorType?: string;
  /** On success: who answered, token counts if the provider reported them, why generation stopped. */
  readonly responseModel?: string;
  readonly usage?: LlmUsage;
  readonly finishReason?: string;
  readonly refused?: boolean;
  /** Streams: tokens sent to the client before the stream ended. */
  readonly tokensStreamed?: number;
}

/** One model call being traced: end it exactly once. */
export interface ModelCallTrace {
  end(result: ModelCallEnd): void;
}

/**
 * The port: the gateway starts a trace when a model call starts and ends it when the call ends. Implementations
 * must not throw and must not block (they buffer; exporting happens elsewhere). When no tracer is configured the
 * gateway skips tracing entirely.
 */
export interface ModelCallTracer {
  start(call: ModelCallStart): ModelCallTrace;
}
