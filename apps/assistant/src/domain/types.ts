import type { FallbackReason } from './llm-gateway.js';

export type FallbackOption = 'cache' | 'excerpts' | 'queue';
export const FALLBACK_OPTIONS: readonly FallbackOption[] = ['cache', 'excerpts', 'queue'];
/** The seed guide's recommended strategy: cached answer, then excerpts; queueing only when asked. */
export const DEFAULT_FALLBACK: readonly FallbackOption[] = ['cache', 'excerpts'];

/** `secondary_model`: the second model (LLM_FALLBACK_*) answered because the primary could not. */
export type FallbackLevel = 'secondary_model' | 'l1_cache' | 'l2_cache' | 'excerpts' | 'queued';

/**
 * What the job worker needs to know about the model side before it claims a job: whether any model
 * would take a call now (state `open`/`isolated` means none) and in how many ms one may.
 */
export interface ModelGate {
  readonly state: string;
  readonly retryAfter: number;
}

export interface Source {
  document_id: string;
  title: string;
  excerpt: string;
  score: number;
}

export interface AnswerMetadata {
  from_fallback: boolean;
  cached: boolean;
  fallback_reason?: FallbackReason;
  fallback_level?: FallbackLevel;
  job_id?: string;
  /**
   * True when the model declined to answer (a content filter or its own refusal): a 200 that is not an
   * outage, never cached (DESIGN.md 3.1).
   */
  refused?: boolean;
  /**
   * The model that answered: always present when the secondary model did, otherwise with
   * `include_metadata` (then the primary's name when no model answered).
   */
  model?: string;
  provider?: string;
  breaker?: { name: string; state: string; retry_after_ms: number };
  latency_ms?: number;
  answered_at?: string;
}

export interface QueryResponse {
  answer: string;
  sources: Source[];
  metadata: AnswerMetadata;
}

export interface QueuedResponse {
  job_id: string;
  answer: string;
  metadata: AnswerMetadata & { from_fallback: true; fallback_level: 'queued'; job_id: string };
}

export interface UnavailableResponse {
  error: 'service_unavailable';
  message: string;
  metadata: { from_fallback: true; fallback_reason: FallbackReason };
}

/** What the ladder decided, with the HTTP status the route answers with. */
export type AssistantOutcome =
  | { status: 200; body: QueryResponse }
  | { status: 202; body: QueuedResponse }
  | { status: 503; body: UnavailableResponse; retryAfterSeconds: number };

/** One event of a streamed answer (`"stream": true`): a token, then `done` or a mid-stream `error`. */
export type StreamEvent =
  | { type: 'token'; text: string }
  | { type: 'done'; body: QueryResponse }
  | { type: 'error'; reason: FallbackReason; partial: true };

/** A streamed request's outcome: exactly the non-streamed outcome, or a stream of events. */
export type StreamingOutcome =
  | { kind: 'complete'; outcome: AssistantOutcome }
  | { kind: 'stream'; events: AsyncGenerator<StreamEvent, void, undefined> };

export interface QueryRequest {
  query: string;
  includeMetadata: boolean;
  fallback: readonly FallbackOption[];
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobView {
  job_id: string;
  status: JobStatus;
  result?: QueryResponse;
  error?: string;
  created_at: string;
  updated_at: string;
}

/** The durable queue behind the ladder's last rung (SQLite embedded, BullMQ with Redis). */
export interface JobQueue {
  readonly kind: string;
  enqueue(userId: string, query: string): Promise<string>;
  /** A job of this user, or null (another user's job is indistinguishable from a missing one). */
  get(userId: string, id: string): Promise<JobView | null>;
  counts(): Promise<Record<JobStatus, number>>;
  start(): void;
  stop(): Promise<void>;
}
