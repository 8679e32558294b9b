/**
 * Classifying whatever an HTTP client threw: status errors, timeouts, socket errors. Knows the shapes of
 * fetch / undici, got, axios, ky, ofetch, node-fetch, the openai SDK and @huggingface/inference (README
 * "HTTP classification" has the table); a shape it does not know is `unknown`, never a success.
 */
import { isPolicyRejection, TimeoutError } from '../core/errors.js';
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
  // axios: a request that reached no server (no errno on the error), and a cancelled request (got too).
  ['ERR_NETWORK', NETWORK],
  ['ERR_CANCELED', ABORTED],
]);

/**
 * Errors recognised by their class name where `name` and `code` say nothing: the openai SDK's classes all
 * have `name === 'Error'`.
 */
const BY_CLASS: ReadonlyMap<string, HttpClassification> = new Map([
  ['APIConnectionTimeoutError', TIMEOUT], // openai: the SDK's own timeout
  ['APIUserAbortError', ABORTED], // openai: the caller's signal
]);
/** Classes that mean "no response", whose `cause` (if any) says more: a network failure otherwise. */
const NO_RESPONSE_CLASSES: ReadonlySet<string> = new Set(['APIConnectionError']);

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** Class names along the prototype chain (most derived first), bounded. */
function classNames(err: object): string[] {
  const names: string[] = [];
  let proto: unknown = Object.getPrototypeOf(err);
  for (let i = 0; i < 6 && proto !== null && proto !== Object.prototype; i++) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string') names.push(ctor.name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

function validStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599
    ? value
    : undefined;
}

/** A body we can read synchronously: text or an already parsed JSON value (never a stream or a buffer). */
function readableBody(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value;
  const proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  return proto === Object.prototype || proto === null ? value : undefined;
}

/**
 * Errors of HTTP clients that carry the response's status, wherever each client puts it:
 * - `err.status` / `err.statusCode`: openai `APIError`, ofetch `FetchError`, axios ≥ 1.7;
 * - `err.response.status`: axios, ky `HTTPError` (a fetch `Response`);
 * - `err.response.statusCode`: got `HTTPError` (a node-style `IncomingMessage`);
 * - `err.httpResponse.status`: @huggingface/inference `InferenceClientProviderApiError`.
 * Headers and body come from the same place when the client kept them (body only when readable without
 * I/O: text or parsed JSON).
 */
function fromStatusLike(e: Record<string, unknown>): HttpClassification | undefined {
  const response = record(e.response);
  const hf = record(e.httpResponse);
  const status =
    validStatus(e.status) ??
    validStatus(e.statusCode) ??
    validStatus(response?.status) ??
    validStatus(response?.statusCode) ??
    validStatus(hf?.status);
  if (status === undefined) return undefined;
  const headers = record(e.headers) ?? record(response?.headers) ?? record(hf?.headers);
  // openai keeps the body's `error` member as `.error`; ofetch the parsed body as `.data`; axios as
  // `response.data`; got the text as `response.body`; HF as `httpResponse.body`.
  const body =
    readableBody(e.body) ??
    readableBody(e.data) ??
    readableBody(response?.data) ??
    readableBody(response?.body) ??
    readableBody(hf?.body) ??
    (e.error === undefined ? undefined : { error: e.error });
  return classifyStatus(status, headers as HeadersLike | undefined, body);
}

function direct(err: unknown): HttpClassification | undefined {
  if (err instanceof HttpStatusError) return err.classification;
  if (err instanceof TimeoutError) return TIMEOUT;
  if (isPolicyRejection(err)) return UNKNOWN; // an open circuit, a full bulkhead, the caller's misuse
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as Record<string, unknown>;
  // DOMExceptions from AbortSignal.timeout() / controller.abort() are recognised by name, as are ky's and
  // got's TimeoutError.
  if (e.name === 'TimeoutError') return TIMEOUT;
  if (e.name === 'AbortError') return ABORTED;
  if (typeof e.code === 'string') {
    // axios reports its own timeout as ECONNABORTED (ETIMEDOUT with `transitional.clarifyTimeoutError`).
    if (e.code === 'ECONNABORTED' && e.isAxiosError === true) return TIMEOUT;
    const byCode = BY_CODE.get(e.code);
    if (byCode !== undefined) return byCode;
  }
  const byStatus = fromStatusLike(e);
  if (byStatus !== undefined) return byStatus;
  for (const name of classNames(e)) {
    const byClass = BY_CLASS.get(name);
    if (byClass !== undefined) return byClass;
  }
  return undefined;
}

/** A client's "no response" error without a recognisable cause is still a network failure. */
function noResponse(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return classNames(err).some((name) => NO_RESPONSE_CLASSES.has(name));
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
  if (noResponse(err)) return NETWORK;
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
