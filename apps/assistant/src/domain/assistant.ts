import type { AnswerCache, CachedAnswer, SharedAnswerCache } from './cache.js';
import type { LlmAnswer } from './llm.js';
import { type FallbackReason, fallbackReasonOf, type ModelPort } from './llm-gateway.js';
import { normalizeQuery } from './query-key.js';
import type { Passage } from './storage.js';
import type {
  AnswerMetadata,
  AssistantOutcome,
  FallbackLevel,
  JobQueue,
  QueryRequest,
  QueryResponse,
  Source,
} from './types.js';

export interface AssistantDeps {
  llm: ModelPort;
  /** Top passages of this user's own documents for a query; rejects when the database cannot answer. */
  retrieve(userId: string, query: string, limit: number): Promise<Passage[]>;
  /**
   * Fingerprint of the user's document set, changing whenever a document is added or removed (see
   * domain/search/version.ts). Cached answers are keyed by it: an answer built from other documents is
   * neither fresh nor a fallback. Omitted → answers are keyed by the question alone.
   */
  documentsVersion?(userId: string): string | Promise<string>;
  cache: AnswerCache;
  sharedCache?: SharedAnswerCache | undefined;
  queue?: JobQueue | undefined;
  /** Told which rung answered each query (metrics). */
  onAnswer?(level: FallbackLevel | 'llm' | 'fresh_cache' | 'unavailable', reason?: FallbackReason): void;
  /** 503 Retry-After when the breaker is isolated (no automatic probe time). */
  defaultRetryAfterMs: number;
  staleTtlMs: number;
  now?: () => number;
}

const PASSAGES = 3;

function toSources(passages: readonly Passage[]): Source[] {
  return passages.map((p) => ({
    document_id: p.documentId,
    title: p.title,
    excerpt: p.text,
    score: p.score,
  }));
}

/** The model declined to answer (content filter or its own refusal). */
function refusal(text: string, passages: readonly Passage[], metadata: AnswerMetadata): QueryResponse {
  return { answer: text, sources: toSources(passages), metadata: { ...metadata, refused: true } };
}

function excerptsAnswer(reason: FallbackReason, passages: readonly Passage[]): string {
  const why = reason === 'circuit_open' ? 'is temporarily unavailable' : 'could not answer just now';
  const lines = passages.map((p, i) => `${i + 1}. “${p.title}”: ${p.text}`);
  return `The AI assistant ${why}, so here are the most relevant passages from your documents:\n\n${lines.join('\n\n')}`;
}

/**
 * The degradation ladder (DESIGN.md 3.2): fresh cache → model through its protection → last good answer
 * (L1, then L2) → excerpts from the user's documents → a durable queued job → 503 with Retry-After.
 * Every rung below the model says so in `metadata`.
 */
export class Assistant {
  readonly #d: AssistantDeps;
  readonly #now: () => number;

  constructor(deps: AssistantDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  async answer(userId: string, request: QueryRequest, signal?: AbortSignal): Promise<AssistantOutcome> {
    const started = this.#now();
    const d = this.#d;
    const { key, verified } = await this.#cacheKey(userId, request.query);
    const meta = (m: AnswerMetadata): AnswerMetadata =>
      request.includeMetadata ? { ...m, ...this.#details(started) } : m;

    // 1. A fresh answer from L1: no upstream call at all.
    const l1 = d.cache.get(userId, key);
    // An answer whose documents version could not be checked (database away) is only a fallback.
    if (l1?.fresh && verified) {
      d.onAnswer?.('fresh_cache');
      return { status: 200, body: this.#fromCache(l1.entry, meta({ from_fallback: false, cached: true })) };
    }

    let passages: Passage[] = [];
    let reason: FallbackReason | undefined;
    try {
      passages = await d.retrieve(userId, request.query, PASSAGES);
    } catch {
      // Without the user's documents the model would answer ungrounded (and that answer would be cached):
      // skip it and degrade to the rungs that need no database.
      reason = 'database_unavailable';
    }

    // 2. The model, through retry → breaker (+ timeout) → bulkhead.
    if (reason === undefined)
      try {
        const answer = await d.llm.complete({ question: request.query, passages }, signal);
        d.onAnswer?.('llm');
        // A refusal is the model working as designed (DESIGN.md 3.1): answered, never cached.
        if (answer.refused) {
          return {
            status: 200,
            body: refusal(answer.text, passages, meta({ from_fallback: false, cached: false })),
          };
        }
        const entry = this.#remember(userId, key, answer, passages);
        return { status: 200, body: this.#fromCache(entry, meta({ from_fallback: false, cached: false })) };
      } catch (err) {
        if (signal?.aborted) throw err; // the client went away: nobody to degrade for
        reason = fallbackReasonOf(err);
      }

    const allowed = new Set(request.fallback);
    const degraded = (level: FallbackLevel, cached: boolean) =>
      meta({ from_fallback: true, cached, fallback_reason: reason, fallback_level: level });

    // 3. The last good answer for this user and query: L1 (even if stale), then L2.
    if (allowed.has('cache')) {
      if (l1) {
        d.onAnswer?.('l1_cache', reason);
        return { status: 200, body: this.#fromCache(l1.entry, degraded('l1_cache', true)) };
      }
      const l2 = d.sharedCache ? await d.sharedCache.get(userId, key).catch(() => null) : null;
      if (l2) {
        d.cache.set(userId, key, l2);
        d.onAnswer?.('l2_cache', reason);
        return { status: 200, body: this.#fromCache(l2, degraded('l2_cache', true)) };
      }
    }

    // 4. Excerpts from the user's own documents.
    if (allowed.has('excerpts') && passages.length > 0) {
      d.onAnswer?.('excerpts', reason);
      return {
        status: 200,
        body: {
          answer: excerptsAnswer(reason, passages),
          sources: toSources(passages),
          metadata: degraded('excerpts', false),
        },
      };
    }

    // 5. A durable job that a worker completes once the circuit lets calls through (if the queue itself is
    //    unreachable, fall through to 503 rather than fail the request).
    const jobId =
      allowed.has('queue') && d.queue ? await d.queue.enqueue(userId, request.query).catch(() => null) : null;
    if (jobId !== null) {
      d.onAnswer?.('queued', reason);
      return {
        status: 202,
        body: {
          job_id: jobId,
          answer: `The AI assistant is temporarily unavailable. Your question is queued as job ${jobId}; fetch the answer from /api/assistant/jobs/${jobId}.`,
          metadata: {
            ...degraded('queued', false),
            from_fallback: true,
            fallback_level: 'queued',
            job_id: jobId,
          },
        },
      };
    }

    // 6. Nothing can serve: say when to come back.
    d.onAnswer?.('unavailable', reason);
    return {
      status: 503,
      retryAfterSeconds: this.#retryAfterSeconds(),
      body: {
        error: 'service_unavailable',
        message:
          'The AI assistant is temporarily unavailable and no fallback answer is available for this query.',
        metadata: { from_fallback: true, fallback_reason: reason },
      },
    };
  }

  /**
   * The model only, for queued jobs: no fallbacks (the job waits for a real answer). Throws when the
   * model cannot answer; the worker decides when to try again.
   */
  async answerFromModel(userId: string, query: string, signal?: AbortSignal): Promise<QueryResponse> {
    const d = this.#d;
    const { key } = await this.#cacheKey(userId, query);
    const passages = await d.retrieve(userId, query, PASSAGES);
    const answer = await d.llm.complete({ question: query, passages }, signal);
    if (answer.refused) {
      return refusal(answer.text, passages, { from_fallback: false, cached: false, model: answer.model });
    }
    const entry = this.#remember(userId, key, answer, passages);
    return this.#fromCache(entry, { from_fallback: false, cached: false, model: answer.model });
  }

  /** Keeps a model answer in L1 and (in the background) L2 as the last good answer. */
  #remember(userId: string, key: string, answer: LlmAnswer, passages: readonly Passage[]): CachedAnswer {
    const d = this.#d;
    const entry: CachedAnswer = {
      answer: answer.text,
      sources: toSources(passages),
      model: answer.model,
      createdAt: this.#now(),
    };
    d.cache.set(userId, key, entry);
    void d.sharedCache?.set(userId, key, entry, d.staleTtlMs).catch(() => {});
    return entry;
  }

  /**
   * The question, normalised, and the documents the answer is built from (L1 and L2 use the same key).
   * When the store cannot say the user's documents version (database away), the last version seen for
   * this user stands in (`verified: false`), so the last good answers stay reachable as fallbacks.
   */
  async #cacheKey(userId: string, query: string): Promise<{ key: string; verified: boolean }> {
    const question = normalizeQuery(query);
    let version: string | undefined;
    let verified = true;
    try {
      version = await this.#d.documentsVersion?.(userId);
      if (version !== undefined) this.#rememberVersion(userId, version);
    } catch {
      verified = false;
      version = this.#versions.get(userId) ?? 'unknown';
    }
    return { key: version === undefined ? question : `${question}\u0000${version}`, verified };
  }

  /** Last documents version seen per user (bounded: the oldest entry goes first). */
  readonly #versions = new Map<string, string>();
  #rememberVersion(userId: string, version: string): void {
    this.#versions.delete(userId);
    this.#versions.set(userId, version);
    if (this.#versions.size > 10_000) {
      const oldest = this.#versions.keys().next().value;
      if (oldest !== undefined) this.#versions.delete(oldest);
    }
  }

  #fromCache(entry: CachedAnswer, metadata: AnswerMetadata): QueryResponse {
    return { answer: entry.answer, sources: entry.sources as Source[], metadata };
  }

  #details(started: number): Partial<AnswerMetadata> {
    const llm = this.#d.llm;
    return {
      model: llm.model,
      provider: llm.provider,
      breaker: {
        name: llm.breakerName,
        state: llm.breakerState(),
        retry_after_ms: Math.round(Math.min(llm.retryAfterMs(), 2 ** 31)),
      },
      latency_ms: this.#now() - started,
      answered_at: new Date(this.#now()).toISOString(),
    };
  }

  #retryAfterSeconds(): number {
    const ms = this.#d.llm.retryAfterMs();
    // Isolated circuits have no automatic probe time: fall back to the configured open duration.
    const bounded = Number.isFinite(ms) ? ms : this.#d.defaultRetryAfterMs;
    return Math.max(1, Math.ceil(bounded / 1000));
  }
}
