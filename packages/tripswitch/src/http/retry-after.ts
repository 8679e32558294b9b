/** Turning an upstream's "come back later" headers into one number of milliseconds. */
import { getHeader, type HeadersLike } from './headers.js';

const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;
// Go-style durations as OpenAI-compatible providers send them: "6m0s", "1.5s", "20ms", "1h2m3s".
const DURATION =
  /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** The three HTTP-date grammars of RFC 9110 §5.6.7; anything else is not a date (V8's Date.parse guesses). */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`,
);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} (?:\\d{2}| \\d) ${TIME} \\d{4}$`);

/** Epoch ms of an HTTP-date, or NaN. asctime carries no zone: it is GMT by definition. */
function parseHttpDate(text: string): number {
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) return Date.parse(text);
  if (ASCTIME.test(text)) return Date.parse(`${text} GMT`);
  return Number.NaN;
}

/** A finite ms value or undefined: 400 digits of seconds are not a wait (Infinity must not leak out). */
function finite(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}

function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const m = DURATION.exec(trimmed);
  if (m === null) return undefined;
  const [, h, min, s, ms] = m;
  if (h === undefined && min === undefined && s === undefined && ms === undefined) return undefined;
  return finite(
    Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0),
  );
}

/**
 * `Retry-After`: delay-seconds (fractions tolerated) or an HTTP-date in one of the three grammars of RFC 9110
 * §10.2.3 / §5.6.7 (IMF-fixdate, RFC 850, asctime). A date in the past means "now" (0). Anything else, and a
 * number too large to be finite, is `undefined`; the result is always a finite number of ms.
 */
export function parseRetryAfterValue(value: string, now: number = Date.now()): number | undefined {
  const seconds = SECONDS.exec(value);
  if (seconds !== null) return finite(Math.ceil(Number(seconds[1]) * 1000));
  const at = parseHttpDate(value.trim());
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
    const parsed = ms === null ? undefined : finite(Math.ceil(Number(ms[1])));
    if (parsed !== undefined) return parsed;
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
