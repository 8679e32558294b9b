/**
 * The protection layers the scenario compares, each behind the assistant's `ModelPort`. tripswitch is the
 * service's own `LlmGateway` (no factory: `createApp`'s default). The others get the same timeout, trip
 * threshold and open duration, and their refusals/timeouts are mapped to tripswitch's error classes only so
 * `metadata.fallback_reason` reads the same across variants; any thrown error already degrades.
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  isBrokenCircuitError,
  isIsolatedCircuitError,
  isTaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import { CircuitOpenError, TimeoutError } from 'tripswitch';
import type { LlmAnswer, LlmClient, LlmRequest } from '../../apps/assistant/src/adapters/llm/types.js';
import type { LlmBreakerSettings, ModelPort } from '../../apps/assistant/src/domain/llm-gateway.js';
import type { Protection } from './params.js';

export type PortSettings = LlmBreakerSettings & { maxConcurrent: number };
export type PortFactory = (client: LlmClient, settings: PortSettings) => ModelPort;
type Request = Omit<LlmRequest, 'signal'>;

/** Aborts when the caller aborts; `dispose()` detaches from the caller's signal. */
function linkedController(outer: AbortSignal | undefined): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  if (!outer) return { controller, dispose: () => {} };
  if (outer.aborted) controller.abort(outer.reason);
  const onAbort = () => controller.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => outer.removeEventListener('abort', onAbort) };
}

/** Timeout only: what a service without a breaker does — every call waits up to the full timeout. */
export function timeoutOnlyPort(client: LlmClient, s: PortSettings): ModelPort {
  return {
    provider: client.provider,
    model: client.model,
    breakerName: 'none',
    breakerState: () => 'none',
    retryAfterMs: () => 0,
    async complete(request: Request, signal?: AbortSignal): Promise<LlmAnswer> {
      const { controller, dispose } = linkedController(signal);
      const timer = setTimeout(() => controller.abort(new TimeoutError(s.timeoutMs)), s.timeoutMs);
      try {
        return await client.complete({ ...request, signal: controller.signal });
      } catch (err) {
        // Surface our own deadline as a timeout, not as the fetch AbortError it causes.
        if (controller.signal.reason instanceof TimeoutError) throw controller.signal.reason;
        throw err;
      } finally {
        clearTimeout(timer);
        dispose();
      }
    },
    close: async () => {
      await client.close?.();
    },
  };
}

/**
 * opossum 9 counts an error *rate* over a rolling window. Comparable to failMax 5: at least `failMax` calls
 * in the window and more than half failing. The window spans two call timeouts, because a hung call is
 * counted as fired when it starts but as failed only when it times out: a window shorter than the timeout
 * never sees both and would never trip.
 */
export function opossumPort(client: LlmClient, s: PortSettings): ModelPort {
  const breaker = new CircuitBreaker(
    (request: Request, signal: AbortSignal) => client.complete({ ...request, signal }),
    {
      name: s.name,
      timeout: s.timeoutMs,
      resetTimeout: s.openMs,
      volumeThreshold: s.failMax,
      errorThresholdPercentage: 50,
      rollingCountTimeout: s.timeoutMs * 2,
      rollingCountBuckets: 20,
    },
  );
  let openedAt = 0;
  breaker.on('open', () => {
    openedAt = performance.now();
  });
  const state = (): string => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed');
  const retryAfterMs = (): number =>
    breaker.opened ? Math.max(0, openedAt + s.openMs - performance.now()) : 0;
  return {
    provider: client.provider,
    model: client.model,
    breakerName: s.name,
    breakerState: state,
    retryAfterMs,
    async complete(request: Request, signal?: AbortSignal): Promise<LlmAnswer> {
      const { controller, dispose } = linkedController(signal);
      try {
        return await breaker.fire(request, controller.signal);
      } catch (err) {
        // opossum's timeout leaves the call running: abort it so the socket is released as elsewhere.
        controller.abort();
        const code = (err as { code?: unknown }).code;
        if (code === 'EOPENBREAKER') throw new CircuitOpenError(s.name, 'open', retryAfterMs());
        if (code === 'ETIMEDOUT') throw new TimeoutError(s.timeoutMs);
        throw err;
      } finally {
        dispose();
      }
    },
    async close() {
      breaker.shutdown();
      await client.close?.();
    },
  };
}

const COCKATIEL_STATES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** cockatiel 3: ConsecutiveBreaker(failMax) around an aggressive timeout, so timeouts count as failures. */
export function cockatielPort(client: LlmClient, s: PortSettings): ModelPort {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: s.openMs,
    breaker: new ConsecutiveBreaker(s.failMax),
  });
  const policy = wrap(breaker, timeout(s.timeoutMs, TimeoutStrategy.Aggressive));
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = performance.now();
  });
  const retryAfterMs = (): number =>
    breaker.state === CircuitState.Open ? Math.max(0, openedAt + s.openMs - performance.now()) : 0;
  return {
    provider: client.provider,
    model: client.model,
    breakerName: s.name,
    breakerState: () => COCKATIEL_STATES[breaker.state],
    retryAfterMs,
    async complete(request: Request, signal?: AbortSignal): Promise<LlmAnswer> {
      try {
        return await policy.execute(
          ({ signal: callSignal }) => client.complete({ ...request, signal: callSignal }),
          signal,
        );
      } catch (err) {
        if (isBrokenCircuitError(err) || isIsolatedCircuitError(err)) {
          throw new CircuitOpenError(s.name, 'open', retryAfterMs());
        }
        if (isTaskCancelledError(err) && !signal?.aborted) throw new TimeoutError(s.timeoutMs);
        throw err;
      }
    },
    close: async () => {
      await client.close?.();
    },
  };
}

/** The factory for `createApp`'s `modelPort` option; undefined for tripswitch (the service's default). */
export function portFactory(protection: Protection): PortFactory | undefined {
  switch (protection) {
    case 'none':
      return timeoutOnlyPort;
    case 'opossum':
      return opossumPort;
    case 'cockatiel':
      return cockatielPort;
    case 'tripswitch':
    case 'tripswitch+secondary':
      return undefined;
  }
}
