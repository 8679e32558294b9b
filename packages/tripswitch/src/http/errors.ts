/** The error an unsuccessful HTTP response becomes, carrying its classification and retry hint. */
import { truncateCodePoints } from '../core/text.js';
import type { RetryAfterHint } from '../core/types.js';
import { inspectErrorBody } from './body.js';
import { type HeadersLike, headerRecord } from './headers.js';
import { classifyStatus } from './status.js';
import type { HttpClassification } from './types.js';

export interface HttpStatusErrorOptions {
  readonly headers?: HeadersLike | null;
  /** The response body (or its first bytes); used for classification and kept on the error. */
  readonly body?: string;
  readonly url?: string;
  readonly statusText?: string;
  /** Replaces the generated message. */
  readonly message?: string;
  /** Time against which an HTTP-date Retry-After is resolved (default `Date.now()`). */
  readonly now?: number;
  readonly cause?: unknown;
}

/** Origin and path only: query strings can carry API keys and must not end up in logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin + parsed.pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

function describe(status: number, classification: HttpClassification, o: HttpStatusErrorOptions): string {
  let message = `HTTP ${status}`;
  if (o.statusText) message += ` ${o.statusText}`;
  if (o.url) message += ` from ${redactUrl(o.url)}`;
  message += ` (${classification.reason})`;
  const detail = o.body === undefined ? undefined : inspectErrorBody(o.body).message;
  // At most 200 code points of the upstream's own words (never half an emoji).
  if (detail) message += `: ${truncateCodePoints(detail, 200)}`;
  return message;
}

/**
 * An HTTP response the caller treats as an error. `classification` says whether the breaker should count
 * it and whether a retry may help; `retryAfter` (ms) is read by the breaker and the retry policy through
 * `retryAfterOf`. `headers` is a plain lower-cased copy, so the error outlives the response.
 */
export class HttpStatusError extends Error implements RetryAfterHint {
  override readonly name: string = 'HttpStatusError';
  readonly status: number;
  readonly statusText: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly url: string | undefined;
  readonly retryAfter: number | undefined;
  readonly classification: HttpClassification;
  readonly retryable: boolean;

  constructor(status: number, options: HttpStatusErrorOptions = {}) {
    const classification = classifyStatus(status, options.headers, options.body, options.now);
    super(
      options.message ?? describe(status, classification, options),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = status;
    this.statusText = options.statusText || undefined;
    this.headers = headerRecord(options.headers);
    this.body = options.body;
    this.url = options.url;
    this.classification = classification;
    this.retryable = classification.retryable;
    this.retryAfter = classification.retryAfter;
  }
}
