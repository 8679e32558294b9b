import {
  type BulkheadPolicy,
  BulkheadRejectedError,
  bulkhead,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type Policy,
  pipeline,
  retry,
  TimeoutError,
} from 'tripswitch';
import { classifyError, isHttpFailure } from 'tripswitch/http';
import {
  type LlmAnswer,
  type LlmClient,
  type LlmRequest,
  LlmResponseError,
  type LlmStreamPart,
} from './llm.js';
import type { AdmissionDecision, ModelCallEnd, ModelCallStart, ModelCallTracer } from './model-tracing.js';
import type { ModelGate } from './types.js';

export interface LlmBreakerSettings {
  /** Breaker name as shown in health, metrics and the dashboard. */
  name: string;
  failMax: number;
  openMs: number;
  failWindowMs: number;
  /** ms per non-streamed call (LLM_TIMEOUT_MS). */
  timeoutMs: number;
  /** ms a streamed call may wait for its first token (LLM_FIRST_TOKEN_TIMEOUT_MS). */
  firstTokenMs: number;
  /** ms a streamed call may stay silent between tokens (LLM_STREAM_IDLE_TIMEOUT_MS). */
  idleMs: number;
}

/**
 * Breaker options for a model provider: pybreaker-style trip rule, per-call timeout, the bounds of a
 * streamed call (first token, idle gap: each a failure), HTTP classification.
 */
export function llmBreakerOptions(s: LlmBreakerSettings): CircuitBreakerOptions {
  return {
    name: s.name,
    failMax: s.failMax,
    openDuration: s.openMs,
    failWindow: s.failWindowMs,
    timeout: s.timeoutMs,
    streamTimeout: { firstChunk: s.firstTokenMs, idle: s.idleMs },
    // A probe that hangs past twice the call timeout is written off, so HALF-OPEN never sticks.
    halfOpenTimeout: Math.max(s.timeoutMs * 2, 1000),
    include: [isUpstreamFailure],
    // Retry-After / estimated_time may keep the circuit open longer, within reason.
    maxRetryAfter: Math.max(s.openMs * 4, 60_000),
    recordLatency: true,
  };
}

/** Why the model could not answer, as reported in `metadata.fallback_reason`. */
export type FallbackReason =
  | 'circuit_open'
  | 'timeout'
  | 'rate_limited'
  | 'model_loading'
  | 'quota_exhausted'
  | 'upstream_unreachable'
  | 'overloaded'
  | 'upstream_error'
  /** The user's documents could not be read (the database is away): the model is not asked. */
  | 'database_unavailable';

/** Upstream failures as the breaker counts them: HTTP classification plus malformed model output. */
export function isUpstreamFailure(err: unknown): boolean {
  return err instanceof LlmResponseError || err instanceof TimeoutError || isHttpFailure(err);
}

export function fallbackReasonOf(err: unknown): FallbackReason {
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof BulkheadRejectedError) return 'overloaded';
  if (err instanceof TimeoutError) return 'timeout';
  switch (classifyError(err).reason) {
    case 'timeout':
    case 'request_timeout':
      return 'timeout';
    case 'rate_limited':
      return 'rate_limited';
    case 'model_loading':
      return 'model_loading';
    case 'quota_exhausted':
      return 'quota_exhausted';
    case 'connection_refused':
    case 'connection_reset':
    case 'dns':
    case 'network':
      return 'upstream_unreachable';
    default:
      return 'upstream_error';
  }
}

/**
 * The gate for work that any of several models may do (queued jobs with a secondary model): open only
 * while every model's breaker is open or isolated; then `retryAfter` is the soonest any may take a call.
 */
export function anyModelGate(gates: readonly ModelGate[]): ModelGate {
  const closedOne = () => gates.find((g) => g.state !== 'open' && g.state !== 'isolated');
  return {
    get state() {
      return (closedOne() ?? gates[0])?.state ?? 'closed';
    },
    get retryAfter() {
      return closedOne() ? 0 : Math.min(...gates.map((g) => g.retryAfter));
    },
  };
}

/**
 * What the assistant needs from "the model behind its protection". `LlmGateway` is the tripswitch one; the
 * scenario benchmark plugs in other protection layers (none, opossum, cockatiel) through the same port.
 */
export interface ModelPort {
  readonly provider: string;
  readonly model: string;
  /** The breaker's name and state for metadata and logs ('none' when there is no breaker). */
  readonly breakerName: string;
  breakerState(): string;
  /** ms until the protection will let a call through again (Infinity when isolated, 0 when it would now). */
  retryAfterMs(): number;
  /**
   * `request.passages` may be a getter that searches the user's documents on first read: read it only once
   * the call goes ahead (inside the protected call), so a rejected call costs no search.
   */
  complete(request: Omit<LlmRequest, 'signal'>, signal?: AbortSignal): Promise<LlmAnswer>;
  /**
   * The answer as a stream of tokens, then `done`. Admission and failures before the first token throw
   * from the first `next()`, as `complete` would. Optional: a port without it is never streamed. As with
   * `complete`, read `request.passages` only once the call is admitted. The protection bounds the time to
   * the first token and the gaps between tokens itself (its own configuration).
   */
  stream?(
    request: Omit<LlmRequest, 'signal'>,
    signal?: AbortSignal,
  ): AsyncGenerator<LlmStreamPart, void, undefined>;
  close(): Promise<void>;
}

/**
 * The model behind its protection, outermost first:
 * retry (one budgeted retry, only for 429/503 that say when to come back) → bulkhead (bounded concurrency
 * and queue wait, its rejections never count) → breaker (trip rule, per-call timeout, HTTP classification)
 * → client. The retry sits outside the breaker so every attempt is evidence, and an opening ends the retry
 * loop. The bulkhead sits outside the breaker so time waiting for a slot never runs on the provider's
 * timeout (inside, a busy service would count calls that never left it as provider timeouts and open the
 * circuit). Streams take a slot of the same bulkhead for their whole length: together with non-streamed
 * calls they never exceed `maxConcurrent` upstream requests, which the client's connection pool matches.
 */
export class LlmGateway implements ModelPort {
  readonly breaker: CircuitBreaker;
  readonly #policy: Policy;
  readonly #limit: BulkheadPolicy;
  readonly #client: LlmClient;
  readonly #tracer: ModelCallTracer | undefined;

  /**
   * `maxConcurrent`: upstream requests at once, streams included (queue 4× that); `maxWaitMs`: how long a
   * call may wait for a slot before it is refused as `overloaded` (default: as long as its caller waits);
   * `tracer`: one trace per model call (OpenTelemetry spans when configured); none by default.
   */
  constructor(
    client: LlmClient,
    breaker: CircuitBreaker,
    options: { maxConcurrent: number; maxWaitMs?: number | undefined; tracer?: ModelCallTracer | undefined },
  ) {
    this.#client = client;
    this.breaker = breaker;
    this.#tracer = options.tracer;
    const retryPolicy = retry({
      maxAttempts: 2,
      backoff: { initial: 200, max: 2_000, jitter: 'full' },
      budget: { ratio: 0.1, minPerSecond: 1, window: 10_000 },
      // Only upstreams that told us when to come back, and only if that is soon.
      shouldRetry: (err) => {
        const c = classifyError(err);
        return (c.reason === 'rate_limited' || c.reason === 'model_loading') && c.retryAfter !== undefined;
      },
      maxRetryAfter: 2_000,
    });
    this.#limit = bulkhead({
      maxConcurrent: options.maxConcurrent,
      maxQueue: options.maxConcurrent * 4,
      ...(options.maxWaitMs === undefined ? {} : { maxWaitDuration: options.maxWaitMs }),
    });
    this.#policy = pipeline(retryPolicy, this.#limit, this.breaker);
  }

  get breakerName(): string {
    return this.breaker.name;
  }

  breakerState(): string {
    return this.breaker.state;
  }

  retryAfterMs(): number {
    return this.breaker.retryAfter;
  }

  get provider(): string {
    return this.#client.provider;
  }

  get model(): string {
    return this.#client.model;
  }

  async complete(request: Omit<LlmRequest, 'signal'>, signal?: AbortSignal): Promise<LlmAnswer> {
    const trace = this.#tracer?.start(this.#callStart('complete'));
    let upstream: unknown;
    let attempts = 0;
    try {
      const answer = await this.#policy.execute(async ({ signal: callSignal }) => {
        attempts++;
        try {
          return await this.#client.complete({ ...request, signal: callSignal });
        } catch (err) {
          upstream = err;
          throw err;
        }
      }, signal);
      trace?.end(answeredCall(answer, attempts, this.breaker.state));
      return answer;
    } catch (err) {
      // A retry that ran into the circuit its own failed attempt just opened reports that attempt's
      // error (e.g. model_loading), not the CircuitOpenError.
      const reported = err instanceof CircuitOpenError && upstream !== undefined ? upstream : err;
      trace?.end(failedCall(reported, attempts, signal?.aborted === true, this.breaker.state));
      throw reported;
    }
  }

  #callStart(operation: ModelCallStart['operation']): ModelCallStart {
    const client = this.#client;
    const { name, state } = this.breaker;
    return {
      operation,
      provider: client.provider,
      model: client.model,
      breakerName: name,
      breakerState: state,
    };
  }

  /**
   * The model's answer streamed through `breaker.stream()` (DESIGN.md 3.1). Admission as for `complete`: an
   * open circuit, or HALF-OPEN with its probe slot taken, throws CircuitOpenError from the first `next()`.
   * A probe stream holds its slot until it ends. The outcome is recorded when the stream ends, before its
   * `done` part reaches the consumer: `done` is a success; an error (classified by `isUpstreamFailure`), a
   * client stream that ends without `done`, no first token within the breaker's `streamTimeout.firstChunk`
   * or a gap over `streamTimeout.idle` is a failure (the timeouts abort this call's own signal, which
   * closes the upstream socket); the caller's abort or a consumer that stops reading is neither (and also
   * closes the socket). Its result belongs to the breaker generation it started in. It holds a slot of the
   * gateway's bulkhead from before admission until it ends (the wait is not on its first-token clock). No
   * retry: a stream that has sent tokens cannot be replayed.
   */
  stream(
    request: Omit<LlmRequest, 'signal'>,
    signal?: AbortSignal,
  ): AsyncGenerator<LlmStreamPart, void, undefined> {
    const parts = this.#stream(request, signal);
    // A client without streams is answered by complete(), which traces itself.
    if (this.#tracer === undefined || !this.#client.stream) return parts;
    return tracedStream(parts, this.#tracer, () => this.#callStart('stream'), this.breaker, signal);
  }

  async *#stream(
    request: Omit<LlmRequest, 'signal'>,
    signal?: AbortSignal,
  ): AsyncGenerator<LlmStreamPart, void, undefined> {
    const client = this.#client;
    if (!client.stream) {
      const answer = await this.complete(request, signal);
      yield { type: 'token', text: answer.text };
      yield { type: 'done', answer };
      return;
    }
    const stream = client.stream.bind(client);
    // The breaker sees the tokens; the stream it runs completes (a success) exactly when the client's
    // stream hands over its `done`, so the outcome is recorded even if the consumer reads no further.
    let answer: LlmAnswer | undefined;
    const breaker = this.breaker;
    // The slot first (its wait is the service's), then the breaker's admission and stream clocks.
    const tokens = this.#limit.stream<LlmStreamPart>(
      ({ signal: slotSignal }) =>
        breaker.stream<LlmStreamPart>(async function* ({ signal: callSignal }) {
          for await (const part of stream({ ...request, signal: callSignal })) {
            if (part.type === 'done') {
              answer = part.answer;
              return;
            }
            yield part;
          }
          // A client stream always ends with `done`; ending without it is the upstream cutting off.
          throw new LlmResponseError('model stream ended without an answer', { upstreamStatus: 200 });
        }, slotSignal),
      signal,
    );
    // Leaving this loop early (the consumer stopped reading) returns `tokens`: neither outcome, and the
    // call's signal is aborted, which closes the upstream socket.
    for await (const part of tokens) yield part;
    // Unreachable while `tokens` keeps its contract (it completes only after the client's `done`).
    if (answer === undefined) {
      throw new LlmResponseError('model stream ended without an answer', { upstreamStatus: 200 });
    }
    yield { type: 'done', answer };
  }

  async close(): Promise<void> {
    await this.#client.close?.();
  }
}

// What a traced model call reports when it ends (domain/model-tracing.ts), in the breaker's own terms.

/**
 * A streamed call's trace around its parts: started at the first read (when the breaker admits or rejects it),
 * ended by `done` (success), by the error that ends the stream, or — when the consumer stops reading — as an
 * ignored call. A stream is one attempt (no retry).
 */
async function* tracedStream(
  parts: AsyncGenerator<LlmStreamPart, void, undefined>,
  tracer: ModelCallTracer,
  start: () => ModelCallStart,
  breaker: CircuitBreaker,
  signal: AbortSignal | undefined,
): AsyncGenerator<LlmStreamPart, void, undefined> {
  const trace = tracer.start(start());
  let tokens = 0;
  let ended = false;
  try {
    for await (const part of parts) {
      if (part.type === 'token') tokens++;
      else {
        ended = true;
        trace.end({ ...answeredCall(part.answer, 1, breaker.state), tokensStreamed: tokens });
      }
      yield part;
    }
  } catch (err) {
    ended = true;
    const attempts = err instanceof CircuitOpenError ? 0 : 1;
    trace.end({
      ...failedCall(err, attempts, signal?.aborted === true, breaker.state),
      tokensStreamed: tokens,
    });
    throw err;
  } finally {
    if (!ended) {
      trace.end({
        decision: 'admitted',
        outcome: 'ignored',
        attempts: 1,
        breakerState: breaker.state,
        errorType: 'cancelled',
        tokensStreamed: tokens,
      });
    }
  }
}

function answeredCall(answer: LlmAnswer, attempts: number, breakerState: string): ModelCallEnd {
  return {
    decision: 'admitted',
    outcome: 'success',
    attempts,
    breakerState,
    responseModel: answer.model,
    usage: answer.usage,
    finishReason: answer.finishReason,
    refused: answer.refused === true,
  };
}

/**
 * `err` is the error the caller sees; `attempts` how many requests reached the model. The outcome follows the
 * breaker's own rule: the caller's abort and policy rejections never count, `isUpstreamFailure` decides the rest.
 */
function failedCall(
  err: unknown,
  attempts: number,
  callerAborted: boolean,
  breakerState: string,
): ModelCallEnd {
  const open = err instanceof CircuitOpenError;
  const full = err instanceof BulkheadRejectedError;
  let decision: AdmissionDecision = 'admitted';
  if (attempts === 0) {
    if (open) {
      decision =
        err.state === 'half-open'
          ? 'rejected_half_open'
          : err.state === 'isolated'
            ? 'rejected_isolated'
            : 'rejected_open';
    } else decision = full ? 'rejected_bulkhead' : 'cancelled';
  }
  const timedOut = err instanceof TimeoutError;
  return {
    decision,
    outcome:
      open || full
        ? 'rejected'
        : callerAborted
          ? 'ignored'
          : timedOut
            ? 'timeout'
            : isUpstreamFailure(err)
              ? 'failure'
              : 'ignored',
    attempts,
    breakerState,
    fallbackReason: fallbackReasonOf(err),
    errorType: open
      ? 'circuit_open'
      : full
        ? 'bulkhead_full'
        : callerAborted
          ? 'cancelled'
          : timedOut
            ? 'timeout'
            : classifyError(err).reason,
  };
}
