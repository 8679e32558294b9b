// One JSON POST over undici: keep-alive pool, the caller's AbortSignal, `throwForStatus` on non-2xx, a
// bounded and validated success body. No retries or timeouts here — the service's policies own those.
import { createParser } from 'eventsource-parser';
import { throwForStatus } from 'tripswitch/http';
import { Agent, type Dispatcher, fetch } from 'undici';
import { bodySample, LlmResponseError } from './errors.js';
import { checkInt, type HttpClientOptions } from './options.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Largest single server-sent event a stream may carry (a token chunk is a few hundred bytes). */
export const MAX_EVENT_CHARS = 64 * 1024;

/**
 * What a streamed POST yields: the data of each server-sent event, or — when a 2xx answer is plain JSON
 * (an endpoint that ignores `stream: true`) — that whole body once.
 */
export type StreamPart = { kind: 'event'; data: string } | { kind: 'json'; value: unknown };

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
    const res = await this.#send(url, body, headers, signal, 'application/json');
    return this.#json(res, url);
  }

  /**
   * POSTs a streaming request and yields each server-sent event's data as it arrives (DESIGN.md 3.1
   * streaming). The whole stream is bounded by `maxResponseBytes` and each event by MAX_EVENT_CHARS;
   * past either the socket is released and the stream fails with `LlmResponseError`. Breaking out of the
   * loop (or `return()`) cancels the body, which closes the upstream socket; `signal` aborts it too.
   */
  async *postEvents(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): AsyncGenerator<StreamPart, void, undefined> {
    const res = await this.#send(url, body, headers, signal, 'text/event-stream');
    if (!/^text\/event-stream\b/i.test(res.headers.get('content-type') ?? '')) {
      yield { kind: 'json', value: await this.#json(res, url) };
      return;
    }
    if (res.body === null) return;
    const events: string[] = [];
    let failure: Error | undefined;
    const parser = createParser({
      onEvent: (event) => {
        events.push(event.data);
      },
      onError: (err) => {
        failure ??= new LlmResponseError(`upstream event stream is malformed: ${err.message}`, {
          upstreamStatus: res.status,
          url,
        });
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          parser.feed(decoder.decode());
        } else {
          size += value.byteLength;
          if (size > this.#maxBytes) {
            throw new LlmResponseError(`upstream stream exceeds ${this.#maxBytes} bytes`, {
              upstreamStatus: res.status,
              url,
            });
          }
          parser.feed(decoder.decode(value, { stream: true }));
        }
        if (failure) throw failure;
        while (events.length > 0) yield { kind: 'event', data: events.shift() as string };
        if (done) return;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async #send(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
    accept: string,
  ) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
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
    return res;
  }

  async #json(res: Awaited<ReturnType<typeof fetch>>, url: string): Promise<unknown> {
    const text = await readBounded(res.body, this.#maxBytes, url, res.status);
    try {
      return JSON.parse(text);
    } catch {
      throw new LlmResponseError(`upstream returned ${res.status} with a body that is not JSON`, {
        upstreamStatus: res.status,
        url,
        body: bodySample(text),
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
