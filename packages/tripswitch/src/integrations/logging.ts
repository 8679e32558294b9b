import type { CircuitBreakerListener } from '../core/options.js';

/** The subset of a pino / console-like logger the listener needs. */
export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** An error as logged: class, message, code when present, and the `cause` chain (at most 8 deep). */
export interface DescribedError {
  name: string;
  message: string;
  code?: string;
  cause?: DescribedError[];
}

function one(err: unknown): DescribedError {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string'
    ? { name: err.name, message: err.message, code }
    : { name: err.name, message: err.message };
}

function describe(err: unknown): DescribedError {
  const top = one(err);
  const causes: DescribedError[] = [];
  const seen = new Set<unknown>([err]);
  let next = (err as { cause?: unknown } | null)?.cause;
  while (next !== undefined && next !== null && !seen.has(next) && causes.length < 8) {
    seen.add(next);
    causes.push(one(next));
    next = (next as { cause?: unknown }).cause;
  }
  if (causes.length > 0) top.cause = causes;
  return top;
}

/**
 * A listener that logs what operators need: openings and half-open at warn, recovery (`-> closed`) at info,
 * failures at error, each with the breaker's name, state and fail count (the seed guide's logging listener).
 * A failure's `error` is `{ name, message, code?, cause? }` — plain data under a key that pino's `err`
 * serializer leaves alone, with the cause chain so `fetch failed` shows the `ECONNREFUSED` beneath it.
 * Messages are logged as they are: scrub upstream text in the logger if it can carry secrets. Successes
 * are not logged.
 */
export function loggingListener(logger: LoggerLike): CircuitBreakerListener {
  return {
    stateChange(b, from, to) {
      const entry = { breaker: b.name, from, to, failCount: b.failCount };
      const msg = `circuit ${b.name}: ${from} -> ${to}`;
      // Returned so that the breaker contains an async logger's rejection like any listener's.
      return to === 'closed' ? logger.info(entry, msg) : logger.warn(entry, msg);
    },
    failure(b, err) {
      return logger.error(
        { breaker: b.name, state: b.state, failCount: b.failCount, error: describe(err) },
        `circuit ${b.name}: call failed`,
      );
    },
    storeStatus(b, status, err) {
      const entry = { breaker: b.name, store: status, error: err === undefined ? undefined : describe(err) };
      // Returned so that the breaker contains an async logger's rejection like any listener's.
      return status === 'degraded'
        ? logger.warn(entry, `circuit ${b.name}: state store unreachable, using local state`)
        : logger.info(entry, `circuit ${b.name}: state store reconnected`);
    },
  };
}
