/** Turning an upstream's "come back later" headers into one number of milliseconds. */
import { getHeader, type HeadersLike } from './headers.js';

const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;
// Go-style durations as OpenAI-compatible providers send them: "6m0s", "1.5s", "20ms", "1h2m3s".
const DURATION =
  /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const m = DURATION.exec(trimmed);
  if (m === null) return undefined;
  const [, h, min, s, ms] = m;
  if (h === undefined && min === undefined && s === undefined && ms === undefined) return undefined;
  return Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

/** `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past means "now" (0). */
export function parseRetryAfterValue(value: string, now: number = Date.now()): number | undefined {
  const seconds = SECONDS.exec(value);
  if (seconds !== null) return Math.ceil(Number(seconds[1]) * 1000);
  // Date.parse accepts bare numbers ("-5", "120") as years; an HTTP-date always has a day or month name.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil(at - now));
}

function rateLimitReset(headers: HeadersLike, kind: 'requests' | 'tokens'): number | undefined {
  const reset = getHeader(headers, `x-ratelimit-reset-${kind}`);
  if (reset === undefined) return undefined;
  // These headers ride on every response; they only explain a wait when that limit is used up.
  const remaining = getHeader(headers, `x-ratelimit-remaining-${kind}`);
  if (remaining !== undefined && Number(remaining) > 0) return undefined;
  const ms = parseDuration(reset);
  return ms === undefined ? undefined : Math.ceil(ms);
}

/**
 * How long the upstream asked us to wait, in ms, or undefined when it did not say. Reads, in order:
 * `retry-after-ms` (OpenAI, Azure), `Retry-After` (seconds or HTTP-date, relative to `now`), then the
 * OpenAI-style `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` of an exhausted limit (the
 * longer one when both are exhausted).
 */
export function parseRetryAfter(
  headers: HeadersLike | undefined | null,
  now: number = Date.now(),
): number | undefined {
  if (headers === undefined || headers === null) return undefined;
  const msHeader = getHeader(headers, 'retry-after-ms');
  if (msHeader !== undefined) {
    const ms = SECONDS.exec(msHeader);
    if (ms !== null) return Math.ceil(Number(ms[1]));
  }
  const retryAfter = getHeader(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const ms = parseRetryAfterValue(retryAfter, now);
    if (ms !== undefined) return ms;
  }
  const requests = rateLimitReset(headers, 'requests');
  const tokens = rateLimitReset(headers, 'tokens');
  if (requests === undefined) return tokens;
  if (tokens === undefined) return requests;
  return Math.max(requests, tokens);
}
