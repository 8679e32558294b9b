/** Turning an unsuccessful fetch `Response` into an `HttpStatusError`. */
import { HttpStatusError } from './errors.js';

export interface ThrowForStatusOptions {
  /** Bytes of an error body to read and keep (default 64 KiB); the rest is discarded. */
  readonly maxBodyBytes?: number;
  /** Time against which an HTTP-date Retry-After is resolved (default `Date.now()`). */
  readonly now?: number;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * Reads at most `max` bytes, then cancels the stream so the connection is released. A body that breaks
 * mid-way (reset, abort) yields what arrived: the status alone is enough to classify.
 */
async function readBounded(res: Response, max: number): Promise<string | undefined> {
  if (res.body === null || res.bodyUsed || max === 0) return undefined;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let read = 0;
  try {
    while (read < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = value.byteLength > max - read ? value.subarray(0, max - read) : value;
      read += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  } catch {
    return text === '' ? undefined : text;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Returns `res` when its status is below 400. Otherwise reads the start of the body and throws an
 * `HttpStatusError` carrying the classification and the retry hint (Retry-After, HF `estimated_time`).
 */
export async function throwForStatus(res: Response, options: ThrowForStatusOptions = {}): Promise<Response> {
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(`throwForStatus: maxBodyBytes must be an integer >= 0, got ${max}`);
  }
  if (res.status < 400) return res;
  const body = await readBounded(res, max);
  throw new HttpStatusError(res.status, {
    headers: res.headers,
    body,
    url: res.url || undefined,
    statusText: res.statusText || undefined,
    now: options.now,
  });
}
