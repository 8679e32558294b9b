/**
 * `tripswitch/http`: which fetch/undici outcomes are upstream failures, and what they ask us to wait.
 * @module tripswitch/http
 */
export { classifyError, isHttpFailure, isRetryable } from './classify-error.js';
export { HttpStatusError, type HttpStatusErrorOptions } from './errors.js';
export { getHeader, type HeadersLike, headerRecord } from './headers.js';
export { parseRetryAfter, parseRetryAfterValue } from './retry-after.js';
export { classifyResponse, classifyStatus } from './status.js';
export { type ResponseLike, type ThrowForStatusOptions, throwForStatus } from './throw-for-status.js';
export type { FailureReason, HttpClassification } from './types.js';
