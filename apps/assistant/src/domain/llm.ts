// The model port: the one interface the service codes against, whatever provider sits behind it
// (adapters/llm implements it), and the error an unusable 2xx reply is reported as.
import { HttpStatusError } from 'tripswitch/http';
import type { Passage } from './storage.js';

export type { Passage };

export type LlmProvider = 'sim' | 'openai' | 'hf-inference';

export interface LlmRequest {
  question: string;
  passages: Passage[];
  /** Cancels the HTTP exchange promptly: the caller's deadline, the breaker's timeout or a disconnect. */
  signal: AbortSignal;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface LlmAnswer {
  text: string;
  model: string;
  provider: string;
  usage?: LlmUsage;
  /** 'stop' when the model finished on its own, 'length' when max tokens cut it short. */
  finishReason?: string;
  /**
   * The provider declined to answer: OpenAI `finish_reason: "content_filter"` or a `refusal` message,
   * HF's filtered generations. `text` is then the refusal to show (the provider's, or a neutral one). The
   * call succeeded: the breaker records a success, and the answer is never cached.
   */
  refused?: boolean;
}

/**
 * One step of a streamed answer: each token's text as it arrives, then once the finished answer (its
 * `text` is the tokens' texts joined). A stream that fails throws from the iterator instead.
 */
export type LlmStreamPart = { type: 'token'; text: string } | { type: 'done'; answer: LlmAnswer };

/**
 * Clients do one HTTP exchange per call: no retries, breakers or timeouts of their own — the service wraps
 * them in tripswitch policies. They throw `HttpStatusError` (tripswitch/http) on non-2xx answers,
 * `LlmResponseError` on a 2xx whose body is unusable, and the fetch error on connection failures/aborts.
 */
export interface LlmClient {
  readonly provider: LlmProvider;
  readonly model: string;
  complete(req: LlmRequest): Promise<LlmAnswer>;
  /**
   * The same exchange, streamed (server-sent events). Throws like `complete` before the first token, and
   * `LlmResponseError` for a stream that breaks off or carries an error event. Leaving the loop early or
   * aborting `req.signal` closes the upstream socket. Optional: a client without it is not streamed.
   */
  stream?(req: LlmRequest): AsyncGenerator<LlmStreamPart, void, undefined>;
  /** Releases pooled keep-alive connections. */
  close?(): Promise<void>;
}

// A 2xx whose body is unusable (not JSON, wrong shape, empty, too large) is the upstream failing, so it is
// reported as a 502 Bad Gateway: tripswitch/http then classifies it as a server error that counts against
// the circuit, exactly like a 5xx, instead of as an unknown local bug.
export class LlmResponseError extends HttpStatusError {
  override readonly name: string = 'LlmResponseError';
  /** The status the upstream actually sent (2xx). */
  readonly upstreamStatus: number;

  constructor(message: string, options: { upstreamStatus: number; url?: string; body?: string }) {
    super(502, { message, url: options.url, body: options.body });
    this.upstreamStatus = options.upstreamStatus;
  }
}
