import type { StreamOperation } from '../core/stream.js';
import type { CallContext, Operation, Policy, StreamPolicy } from '../core/types.js';
import type { FallbackPolicy } from './fallback.js';
import { contextFor, invoke, misuseOf } from './internal.js';

/** What `pipeline` accepts: any `Policy` (breaker, timeout, retry, bulkhead, chaos…), a fallback, a pipeline. */
export type PipelineMember = Policy | FallbackPolicy<unknown> | PipelinePolicy<unknown>;

/** The extra result type a member may resolve with besides the operation's own (a fallback's substitute). */
export type ExtraResultOf<P> =
  P extends FallbackPolicy<infer R> ? R : P extends PipelinePolicy<infer R> ? R : never;

/**
 * Several policies as one, outermost first. One signal runs through the layers: each layer's `ctx.signal`
 * becomes the outer signal of the next, so a timeout layer aborts everything inside it and the caller's
 * signal reaches every layer. The operation sees the attempt number of the retry layer around it (the
 * innermost layer whose context reports an attempt above 1), even through layers that know nothing of
 * attempts.
 *
 * Recommended order for calling an LLM provider:
 *
 *     pipeline(fallback(degraded), retry({...}), bulkhead({...}), breaker, timeout(10_000))
 *
 * - fallback outermost: it sees every failure, including `CircuitOpenError` and the last retry's error.
 * - retry outside the breaker: each attempt is one breaker outcome, so `failMax` counts real upstream
 *   failures and the circuit trips after `failMax` failed calls to the provider, not `failMax` bursts of
 *   retries; once it trips, the next attempt meets `CircuitOpenError`, which ends the retry loop at once
 *   (unless `retryOnCircuitOpen`), so an open circuit is never hammered by retries.
 * - bulkhead outside the breaker and its timeout: time waiting for a slot is the service's, not the
 *   provider's, so it must not run on the call's deadline (inside, a busy service records timeouts for calls
 *   that never left it); bound the wait with `maxWaitDuration`. Its rejections never count as failures.
 * - timeout inside the breaker: a `TimeoutError` counts as a failure; each attempt gets its own deadline.
 */
export class PipelinePolicy<R = never> {
  readonly policies: readonly PipelineMember[];

  constructor(policies: readonly PipelineMember[]) {
    policies.forEach((p, i) => {
      if (typeof (p as Partial<Policy> | null)?.execute !== 'function') {
        throw new TypeError(`pipeline policy #${i} must have an execute(fn, signal) method`);
      }
    });
    this.policies = [...policies];
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T | R> {
    const misuse = misuseOf(fn, signal, 'pipeline.execute');
    if (misuse !== undefined) return Promise.reject(misuse);
    const layers = this.policies;
    const last = layers.length - 1;
    if (last < 0) return signal?.aborted ? Promise.reject(signal.reason) : invoke(fn, contextFor(signal, 1));
    const run = (index: number, outer: AbortSignal | undefined, attempt: number): Promise<T | R> =>
      (layers[index] as Policy).execute<T | R>((ctx: CallContext) => {
        const seen = ctx.attempt > 1 ? ctx.attempt : attempt;
        if (index < last) return run(index + 1, ctx.signal, seen);
        return fn(seen === ctx.attempt ? ctx : { signal: ctx.signal, attempt: seen });
      }, outer);
    return run(0, signal, 1);
  }

  /** A streaming call through every layer; see `streamThrough`. */
  stream<T>(fn: StreamOperation<T>, signal?: AbortSignal): AsyncIterableIterator<T> {
    return streamThrough(this.policies, fn, signal);
  }
}

/**
 * Runs a streaming call through every layer, outermost first (see `StreamPolicy`): each layer must have
 * `stream(fn, signal)` (breaker, timeout, retry, bulkhead, pipeline); a layer without it is a TypeError
 * naming it. Signals and attempt numbers flow as in `execute`.
 */
export function streamThrough<T>(
  layers: readonly PipelineMember[],
  fn: StreamOperation<T>,
  signal: AbortSignal | undefined,
): AsyncIterableIterator<T> {
  layers.forEach((p, i) => {
    if (typeof (p as Partial<StreamPolicy>).stream !== 'function') {
      const kind = (p as object).constructor?.name ?? typeof p;
      throw new TypeError(
        `pipeline policy #${i} (${kind}) cannot run streams: it has no stream(fn, signal) method`,
      );
    }
  });
  const last = layers.length - 1;
  const run = (index: number, outer: AbortSignal | undefined, attempt: number): AsyncIterableIterator<T> =>
    (layers[index] as unknown as StreamPolicy).stream<T>((ctx: CallContext) => {
      const seen = ctx.attempt > 1 ? ctx.attempt : attempt;
      if (index < last) return run(index + 1, ctx.signal, seen);
      return fn(seen === ctx.attempt ? ctx : { signal: ctx.signal, attempt: seen });
    }, outer);
  if (last < 0) throw new TypeError('pipeline.stream needs at least one policy');
  return run(0, signal, 1);
}

/** `pipeline(a, b, c)`: `a` runs `b`, which runs `c`, which runs the operation. See `PipelinePolicy`. */
export function pipeline<const P extends readonly PipelineMember[]>(
  ...policies: P
): PipelinePolicy<ExtraResultOf<P[number]>> {
  return new PipelinePolicy<ExtraResultOf<P[number]>>(policies);
}

/** Alias of `pipeline` (cockatiel's name). */
export const wrap = pipeline;
