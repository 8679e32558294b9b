/** Turning an unsuccessful fetch (or node-fetch) `Response` into an `HttpStatusError`. */
import { HttpStatusError } from './errors.js';
import type { HeadersLike } from './headers.js';

export interface ThrowForStatusOptions {
  /** Bytes of an error body to read and keep (default 64 KiB); the rest is discarded. */
  readonly maxBodyBytes?: number;
  /** Time against which an HTTP-date Retry-After is resolved (default `Date.now()`). */
  readonly now?: number;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * What `throwForStatus` reads: a fetch / undici `Response`, or node-fetch's, whose body is a Node stream
 * (an async iterable of bytes) rather than a web `ReadableStream`.
 */
export interface ResponseLike {
  readonly status: number;
  readonly statusText?: string;
  readonly url?: string;
  readonly headers: HeadersLike;
  readonly bodyUsed?: boolean;
  readonly body?: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | null;
}

/**
 * Reads at most `max` bytes (never half a character), then stops reading so the connection is released.
 * A body that breaks mid-way (reset, abort) yields what arrived: the status alone is enough to classify.
 */
async function readBounded(res: ResponseLike, max: number): Promise<string | undefined> {
  const body = res.body;
  if (body === null || body === undefined || res.bodyUsed === true || max === 0) return undefined;
  const decoder = new TextDecoder();
  let text = '';
  let read = 0;
  const take = (value: Uint8Array): void => {
    const chunk = value.byteLength > max - read ? value.subarray(0, max - read) : value;
    read += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
  };
  // A body read up to `max` may stop inside a multi-byte character: that tail is dropped, not turned into
  // U+FFFD. A shorter body is flushed (a malformed ending there is the upstream's own).
  const rest = (): string => (read >= max ? '' : decoder.decode());
  if (typeof (body as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (body as ReadableStream<Uint8Array>).getReader();
    try {
      while (read < max) {
        const { done, value } = await reader.read();
        if (done) break;
        take(value);
      }
      return text + rest();
    } catch {
      return text === '' ? undefined : text;
    } finally {
      reader.cancel().catch(() => {});
    }
  }
  if (typeof (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator] !== 'function')
    return undefined;
  const iterator = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  try {
    while (read < max) {
      const { done, value } = await iterator.next();
      if (done) break;
      take(typeof value === 'string' ? new TextEncoder().encode(value) : value);
    }
    return text + rest();
  } catch {
    return text === '' ? undefined : text;
  } finally {
    // Ending the iteration destroys a Node stream, which releases the socket.
    iterator.return?.()?.catch?.(() => {});
  }
}

/**
 * Returns `res` when its status is below 400. Otherwise reads the start of the body and throws an
 * `HttpStatusError` carrying the classification and the retry hint (Retry-After, HF `estimated_time`).
 */
export async function throwForStatus<R extends ResponseLike>(
  res: R,
  options: ThrowForStatusOptions = {},
): Promise<R> {
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
