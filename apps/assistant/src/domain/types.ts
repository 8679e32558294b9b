import type { FallbackReason } from './llm-gateway.js';

export type FallbackOption = 'cache' | 'excerpts' | 'queue';
export const FALLBACK_OPTIONS: readonly FallbackOption[] = ['cache', 'excerpts', 'queue'];
/** The seed guide's recommended strategy: cached answer, then excerpts; queueing only when asked. */
export const DEFAULT_FALLBACK: readonly FallbackOption[] = ['cache', 'excerpts'];

export type FallbackLevel = 'l1_cache' | 'l2_cache' | 'excerpts' | 'queued';

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
  /** Extra detail, present when the request asked for `include_metadata`. */
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
