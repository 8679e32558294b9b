// A 2xx whose body is unusable (not JSON, wrong shape, empty, too large) is the upstream failing, so it is
// reported as a 502 Bad Gateway: tripswitch/http then classifies it as a server error that counts against
// the circuit, exactly like a 5xx, instead of as an unknown local bug.
import { HttpStatusError } from 'tripswitch/http';

export class LlmResponseError extends HttpStatusError {
  override readonly name: string = 'LlmResponseError';
  /** The status the upstream actually sent (2xx). */
  readonly upstreamStatus: number;

  constructor(message: string, options: { upstreamStatus: number; url?: string; body?: string }) {
    super(502, { message, url: options.url, body: options.body });
    this.upstreamStatus = options.upstreamStatus;
  }
}
