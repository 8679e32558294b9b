/** Reading headers from whatever a caller holds: fetch `Headers`, a `Map`, or node's plain header object. */

/**
 * Anything headers can be read from: the web `Headers` class (fetch, undici), a `Map`, or a plain object
 * such as node's `IncomingHttpHeaders` (arrays are joined with ", " as HTTP does for repeated fields).
 */
export type HeadersLike =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | number | undefined>>;

function hasGet(h: object): h is { get(name: string): string | null | undefined } {
  return typeof (h as { get?: unknown }).get === 'function';
}

function flatten(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.join(', ');
  return undefined;
}

/** One header's value, looked up case-insensitively; undefined when absent. */
export function getHeader(headers: HeadersLike | undefined | null, name: string): string | undefined {
  if (headers === undefined || headers === null) return undefined;
  const lower = name.toLowerCase();
  if (hasGet(headers)) {
    // Headers is case-insensitive already; a Map is not, so try the lower-case spelling first.
    return headers.get(lower) ?? headers.get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, unknown>>;
  const direct = flatten(record[lower]) ?? flatten(record[name]);
  if (direct !== undefined) return direct;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === lower) return flatten(record[key]);
  }
  return undefined;
}

/** Headers a classification or a retry hint may depend on: what we keep from get-only header objects. */
const INTERESTING = [
  'content-type',
  'retry-after',
  'retry-after-ms',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'x-request-id',
];

/**
 * A plain, lower-cased copy, so an error can carry its headers after the response is gone and can be
 * logged or serialised. Objects that can only be queried (a bare `get`) keep the headers that matter here.
 */
export function headerRecord(headers: HeadersLike | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined || headers === null) return out;
  const iterable = headers as { forEach?: unknown };
  if (typeof iterable.forEach === 'function') {
    // Headers and Map both call back with (value, key).
    (iterable.forEach as (cb: (value: unknown, key: unknown) => void) => void).call(headers, (value, key) => {
      const text = flatten(value);
      if (typeof key === 'string' && text !== undefined) out[key.toLowerCase()] = text;
    });
    return out;
  }
  if (hasGet(headers)) {
    for (const name of INTERESTING) {
      const value = headers.get(name);
      if (typeof value === 'string') out[name] = value;
    }
    return out;
  }
  for (const [key, value] of Object.entries(headers)) {
    const text = flatten(value);
    if (text !== undefined) out[key.toLowerCase()] = text;
  }
  return out;
}
