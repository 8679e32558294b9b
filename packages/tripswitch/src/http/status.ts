/** Classifying an HTTP status (plus headers and body when they matter) for the breaker and retry policy. */
import { inspectErrorBody, isModelLoading, isQuotaExhausted } from './body.js';
import type { HeadersLike } from './headers.js';
import { parseRetryAfter } from './retry-after.js';
import type { FailureReason, HttpClassification } from './types.js';

const OK: HttpClassification = Object.freeze({ failure: false, retryable: false, reason: 'ok' });
const CLIENT_ERROR: HttpClassification = Object.freeze({
  failure: false,
  retryable: false,
  reason: 'client_error',
});
const INVALID_STATUS: HttpClassification = Object.freeze({
  failure: true,
  retryable: false,
  reason: 'unknown',
});

function make(reason: FailureReason, retryable: boolean, retryAfter: number | undefined): HttpClassification {
  return retryAfter === undefined
    ? { failure: true, retryable, reason }
    : { failure: true, retryable, reason, retryAfter };
}

/**
 * Classifies a status code. Rules (DESIGN 2.3): 5xx, 408 and 429 are failures; other 4xx are not.
 * - 503 whose body says the model "is currently loading" (HuggingFace) → `model_loading`, with its
 *   `estimated_time` as the retry hint unless a Retry-After header says otherwise.
 * - 429 (and 402) whose body reports exhausted quota, billing or credits → `quota_exhausted`: a failure,
 *   so the circuit opens instead of sending every user's call into a wall, but not retryable, since it
 *   will not heal in seconds. A plain 429 is `rate_limited` and retryable.
 * - 501 and 505 are failures that retrying cannot fix (not retryable); other 5xx are retryable.
 * - A status outside 100–599 is a failure of `unknown` reason.
 * `body` may be the response text or an already parsed JSON value; `now` resolves HTTP-date hints.
 */
export function classifyStatus(
  status: number,
  headers?: HeadersLike | null,
  body?: unknown,
  now: number = Date.now(),
): HttpClassification {
  if (!Number.isInteger(status) || status < 100 || status > 599) return INVALID_STATUS;
  if (status < 400) return OK;
  if (status === 408) return make('request_timeout', true, parseRetryAfter(headers, now));
  if (status === 429 || status === 402) {
    const hint = parseRetryAfter(headers, now);
    if (status === 402 || isQuotaExhausted(inspectErrorBody(body), hint !== undefined)) {
      return make('quota_exhausted', false, hint);
    }
    return make('rate_limited', true, hint);
  }
  if (status < 500) return CLIENT_ERROR;
  const hint = parseRetryAfter(headers, now);
  if (status === 503 && body !== undefined && body !== null && body !== '') {
    const info = inspectErrorBody(body);
    if (isModelLoading(info)) return make('model_loading', true, hint ?? info.estimatedTime);
  }
  return make('server_error', status !== 501 && status !== 505, hint);
}

/** Header-only classification of a fetch `Response` (or anything with `status` and `headers`); sync. */
export function classifyResponse(res: {
  readonly status: number;
  readonly headers?: HeadersLike | null;
}): HttpClassification {
  return classifyStatus(res.status, res.headers);
}
