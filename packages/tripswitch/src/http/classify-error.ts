/** Classifying whatever a fetch/undici/node:http call threw: status errors, timeouts, socket errors. */
import { BulkheadRejectedError, CircuitOpenError, TimeoutError } from '../core/errors.js';
import { HttpStatusError } from './errors.js';
import type { HeadersLike } from './headers.js';
import { classifyStatus } from './status.js';
import type { FailureReason, HttpClassification } from './types.js';

function fixed(failure: boolean, retryable: boolean, reason: FailureReason): HttpClassification {
  return Object.freeze({ failure, retryable, reason });
}

const TIMEOUT = fixed(true, true, 'timeout');
const ABORTED = fixed(false, false, 'aborted');
const NETWORK = fixed(true, true, 'network');
/** Not attributable to the upstream (a bug, a parse error, a policy's own rejection): not a failure. */
const UNKNOWN = fixed(false, false, 'unknown');

/** Node and undici error codes. Connection problems are failures; all but a missing host may heal. */
const BY_CODE: ReadonlyMap<string, HttpClassification> = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', TIMEOUT],
  ['UND_ERR_HEADERS_TIMEOUT', TIMEOUT],
  ['UND_ERR_BODY_TIMEOUT', TIMEOUT],
  ['ETIMEDOUT', TIMEOUT],
  ['ECONNREFUSED', fixed(true, true, 'connection_refused')],
  ['ECONNRESET', fixed(true, true, 'connection_reset')],
  ['EPIPE', fixed(true, true, 'connection_reset')],
  ['UND_ERR_SOCKET', fixed(true, true, 'connection_reset')],
  ['ECONNABORTED', fixed(true, true, 'connection_reset')],
  // ENOTFOUND is usually a wrong host name (retrying will not help); EAI_AGAIN is a resolver hiccup.
  ['ENOTFOUND', fixed(true, false, 'dns')],
  ['EAI_AGAIN', fixed(true, true, 'dns')],
  ['EHOSTUNREACH', NETWORK],
  ['ENETUNREACH', NETWORK],
  ['ENETDOWN', NETWORK],
  ['EHOSTDOWN', NETWORK],
  ['UND_ERR_ABORTED', ABORTED],
]);

/** Errors from other HTTP clients that carry a status (OpenAI SDK, got, axios): classify by that. */
function fromStatusLike(e: Record<string, unknown>): HttpClassification | undefined {
  const response =
    typeof e.response === 'object' && e.response !== null
      ? (e.response as Record<string, unknown>)
      : undefined;
  const status = e.status ?? e.statusCode ?? response?.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    return undefined;
  const headers = (e.headers ?? response?.headers) as HeadersLike | undefined;
  // The OpenAI SDK keeps the body's `error` member as `.error`; axios keeps the body as `response.data`.
  const body = e.body ?? response?.data ?? (e.error === undefined ? undefined : { error: e.error });
  return classifyStatus(status, typeof headers === 'object' ? headers : undefined, body);
}

function direct(err: unknown): HttpClassification | undefined {
  if (err instanceof HttpStatusError) return err.classification;
  if (err instanceof TimeoutError) return TIMEOUT;
  if (err instanceof CircuitOpenError || err instanceof BulkheadRejectedError) return UNKNOWN;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as Record<string, unknown>;
  // DOMExceptions from AbortSignal.timeout() / controller.abort() are recognised by name.
  if (e.name === 'TimeoutError') return TIMEOUT;
  if (e.name === 'AbortError') return ABORTED;
  if (typeof e.code === 'string') {
    const byCode = BY_CODE.get(e.code);
    if (byCode !== undefined) return byCode;
  }
  return fromStatusLike(e);
}

const MAX_DEPTH = 8;

/** Outermost recognisable error first, then `cause` and AggregateError's `errors`, bounded and cycle-safe. */
function search(err: unknown, depth: number, seen: Set<unknown>): HttpClassification | undefined {
  if (depth > MAX_DEPTH || seen.has(err)) return undefined;
  seen.add(err);
  const found = direct(err);
  if (found !== undefined || typeof err !== 'object' || err === null) return found;
  const e = err as { cause?: unknown; errors?: unknown };
  if (e.cause !== undefined) {
    const inCause = search(e.cause, depth + 1, seen);
    if (inCause !== undefined) return inCause;
  }
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors.slice(0, 16)) {
      const inErrors = search(inner, depth + 1, seen);
      if (inErrors !== undefined) return inErrors;
    }
  }
  return undefined;
}

/**
 * Classifies a thrown value: `HttpStatusError` (its own classification), our `TimeoutError` and the
 * DOMException `TimeoutError` (failures, retryable), `AbortError` (the caller gave up: not a failure),
 * node/undici socket codes, including inside `cause` as in fetch's `TypeError: fetch failed`, and errors
 * of other clients that carry a `status`. A bare "fetch failed" is a network failure. Anything else,
 * and the policies' own rejections, is `unknown` and not a failure.
 */
export function classifyError(err: unknown): HttpClassification {
  const found = search(err, 0, new Set());
  if (found !== undefined) return found;
  if (err instanceof TypeError && err.message === 'fetch failed') return NETWORK;
  return UNKNOWN;
}

/**
 * True when the error means the upstream failed: 5xx, 408, 429 (quota exhaustion included), connection
 * errors and timeouts. Pass it as the breaker's `include` so client errors never trip the circuit.
 */
export function isHttpFailure(err: unknown): boolean {
  return classifyError(err).failure;
}

/** True when the same request may succeed later (not for client errors, quota exhaustion, aborts). */
export function isRetryable(err: unknown): boolean {
  return classifyError(err).retryable;
}
