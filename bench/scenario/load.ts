/**
 * Drives the service with autocannon (closed loop: each connection is a user who asks again as soon as it
 * is answered) and keeps one sample per response: when it started, how long it took, and which rung of the
 * degradation ladder answered it, read from the body's `metadata`.
 */
import autocannon from 'autocannon';
import { epochMs } from './recorder.js';

/** answered: the model answered; degraded: a fallback did (200/202); unavailable: 503; error: anything else. */
export type AnswerKind = 'answered' | 'degraded' | 'unavailable' | 'error';

export interface Sample {
  /** Epoch ms when the request was sent (end minus latency). */
  start: number;
  latencyMs: number;
  status: number;
  kind: AnswerKind;
  /** `fallback_level`, or 'llm' / 'fresh_cache' for model answers, or the status for errors. */
  level: string;
}

export interface LoadOptions {
  url: string;
  token: string;
  connections: number;
  nextQuery(): string;
  /** Upper bounds; the caller normally stops the load earlier with `stop()`. */
  maxSeconds: number;
  maxRequests: number;
  /** autocannon's per-request timeout (s): a request slower than this counts as an error. */
  requestTimeoutS: number;
}

export interface LoadRun {
  readonly samples: Sample[];
  /** Socket errors and autocannon timeouts, as epoch ms. */
  readonly errors: number[];
  stop(): Promise<void>;
}

export function classify(status: number, body: string): { kind: AnswerKind; level: string } {
  if (status === 503) return { kind: 'unavailable', level: '503' };
  if (status !== 200 && status !== 202) return { kind: 'error', level: String(status) };
  try {
    const meta = (JSON.parse(body) as { metadata?: Record<string, unknown> }).metadata;
    if (meta?.from_fallback === true) {
      return { kind: 'degraded', level: typeof meta.fallback_level === 'string' ? meta.fallback_level : '?' };
    }
    if (meta?.from_fallback === false)
      return { kind: 'answered', level: meta.cached ? 'fresh_cache' : 'llm' };
  } catch {
    // not JSON: an error below
  }
  return { kind: 'error', level: `${status} unparsable` };
}

export function startLoad(o: LoadOptions): LoadRun {
  const samples: Sample[] = [];
  const errors: number[] = [];
  // onResponse runs synchronously just before the matching 'response' event of the same client.
  let pending: { kind: AnswerKind; level: string } = { kind: 'error', level: 'unknown' };
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const instance = autocannon(
    {
      url: o.url,
      connections: o.connections,
      duration: o.maxSeconds,
      amount: o.maxRequests,
      timeout: o.requestTimeoutS,
      requests: [
        {
          method: 'POST',
          path: '/api/assistant/query',
          headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ query: o.nextQuery() }) }),
          onResponse: (status, body) => {
            pending = classify(status, body);
          },
        },
      ],
    },
    () => finished(),
  );
  instance.on('response', (_client, status, _bytes, latencyMs) => {
    samples.push({ start: epochMs() - latencyMs, latencyMs, status, ...pending });
    pending = { kind: 'error', level: 'unknown' };
  });
  instance.on('reqError', () => {
    errors.push(epochMs());
  });
  return {
    samples,
    errors,
    async stop() {
      instance.stop();
      await done;
    },
  };
}
