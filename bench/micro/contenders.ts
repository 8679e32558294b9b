/**
 * The breakers under comparison, each built the way its own README shows, with default (or the closest
 * equivalent) options, so every suite compares like with like.
 */
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import OpossumBreaker from 'opossum';
import { CircuitBreaker, type CircuitBreakerOptions } from 'tripswitch';

export type CockatielBreaker = ReturnType<typeof circuitBreaker>;

/** The protected operation: an async function that succeeds at once. Shared so call sites stay monomorphic. */
export const okOp = async (): Promise<number> => 1;

/** One failure, allocated once: the suites measure the breakers, not `new Error()`. */
export const failure = new Error('upstream failed');
export const failOp = async (): Promise<number> => {
  throw failure;
};

export const swallow = (): void => {};

export function tripswitch(options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}

/** cockatiel's equivalent of tripswitch's defaults: 5 consecutive failures, 30 s before half-open. */
export function cockatiel(halfOpenAfter = 30_000): CockatielBreaker {
  return circuitBreaker(handleAll, { halfOpenAfter, breaker: new ConsecutiveBreaker(5) });
}

export function opossum(
  action: (...args: unknown[]) => Promise<unknown> = okOp,
  options?: OpossumBreaker.Options,
): OpossumBreaker {
  return new OpossumBreaker(action, options);
}
