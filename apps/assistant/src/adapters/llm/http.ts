// One JSON POST over undici: keep-alive pool, the caller's AbortSignal, `throwForStatus` on non-2xx, a
// bounded and validated success body. No retries or timeouts here — the service's policies own those.
import { throwForStatus } from 'tripswitch/http';
import { Agent, type Dispatcher, fetch } from 'undici';
import { LlmResponseError } from './errors.js';
import { checkInt, type HttpClientOptions } from './options.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** The transport a client owns (or borrows): dispatcher plus body limit. */
export class JsonTransport {
  readonly #dispatcher: Dispatcher;
  readonly #owned: Agent | undefined;
  readonly #maxBytes: number;

  constructor(options: HttpClientOptions = {}) {
    this.#maxBytes = checkInt(
      options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      'maxResponseBytes',
      1,
      256 * 1024 * 1024,
    );
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
    } else {
      const connections = checkInt(options.connections ?? 64, 'connections', 1, 4096);
      this.#owned = new Agent({ connections });
      this.#dispatcher = this.#owned;
    }
  }

  async post(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<unknown> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
      dispatcher: this.#dispatcher,
      // An API endpoint that redirects is misconfigured; following could carry the key elsewhere.
      redirect: 'manual',
    });
    await throwForStatus(res);
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {});
      throw new LlmResponseError(`upstream answered ${res.status} instead of a completion`, {
        upstreamStatus: res.status,
        url,
      });
    }
    const text = await readBounded(res.body, this.#maxBytes, url, res.status);
    try {
      return JSON.parse(text);
    } catch {
      throw new LlmResponseError(`upstream returned ${res.status} with a body that is not JSON`, {
        upstreamStatus: res.status,
        url,
        body: text.slice(0, 512),
      });
    }
  }

  /** Closes the owned Agent's pooled sockets; a borrowed dispatcher is left to its owner. */
  async close(): Promise<void> {
    await this.#owned?.close();
  }
}

/**
 * Reads a success body up to `max` bytes. Past the limit the stream is cancelled (freeing the socket) and
 * the response is rejected; an abort mid-body surfaces as the abort, not as garbage.
 */
async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  max: number,
  url: string,
  status: number,
): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      size += value.byteLength;
      if (size > max) {
        throw new LlmResponseError(`upstream response body exceeds ${max} bytes`, {
          upstreamStatus: status,
          url,
        });
      }
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
