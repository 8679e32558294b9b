import type { CircuitBreakerListener } from '../core/options.js';

/** The subset of a pino / console-like logger the listener needs. */
export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

function describe(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: typeof err, message: String(err) };
}

/**
 * A listener that logs what operators need: state changes at warn, failures at error, each with the
 * breaker's name, state and fail count (the seed guide's logging listener). Successes are not logged.
 */
export function loggingListener(logger: LoggerLike): CircuitBreakerListener {
  return {
    stateChange(b, from, to) {
      return logger.warn(
        { breaker: b.name, from, to, failCount: b.failCount },
        `circuit ${b.name}: ${from} -> ${to}`,
      );
    },
    failure(b, err) {
      return logger.error(
        { breaker: b.name, state: b.state, failCount: b.failCount, err: describe(err) },
        `circuit ${b.name}: call failed`,
      );
    },
    storeStatus(b, status, err) {
      const entry = { breaker: b.name, store: status, err: err === undefined ? undefined : describe(err) };
      // Returned so that the breaker contains an async logger's rejection like any listener's.
      return status === 'degraded'
        ? logger.warn(entry, `circuit ${b.name}: state store unreachable, using local state`)
        : logger.info(entry, `circuit ${b.name}: state store reconnected`);
    },
  };
}
