import { CircuitOpenError } from 'tripswitch';
import type { AnswerCache, CachedAnswer, SharedAnswerCache } from '../adapters/cache/answer-cache.js';
import type { LlmAnswer, Passage } from '../adapters/llm/types.js';
import { type FallbackReason, fallbackReasonOf, type ModelPort } from './llm-gateway.js';
import { normalizeQuery } from './query-key.js';
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
  /**
   * The secondary model (LLM_FALLBACK_*) behind its own breaker: asked when the primary's circuit is open
   * or its call failed, before any cached or partial answer (DESIGN.md 3.1).
   */
  secondary?: ModelPort | undefined;
  /** Top passages of this user's own documents for a query (bm25). */
  retrieve(userId: string, query: string, limit: number): Passage[];
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

function excerptsAnswer(reason: FallbackReason, passages: readonly Passage[]): string {
  const why = reason === 'circuit_open' ? 'is temporarily unavailable' : 'could not answer just now';
  const lines = passages.map((p, i) => `${i + 1}. “${p.title}”: ${p.text}`);
  return `The AI assistant ${why}, so here are the most relevant passages from your documents:\n\n${lines.join('\n\n')}`;
}

/**
 * Which of two models' errors a queued job reports: an upstream failure wins over an open circuit; of two
 * open circuits, the one that reopens sooner (so the worker comes back when either model may answer).
 */
function laterOf(primary: unknown, secondary: unknown): unknown {
  if (!(primary instanceof CircuitOpenError)) return primary;
  if (!(secondary instanceof CircuitOpenError)) return secondary;
  return secondary.retryAfter < primary.retryAfter ? secondary : primary;
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
    const key = normalizeQuery(request.query);
    const d = this.#d;
    const meta = (m: AnswerMetadata): AnswerMetadata =>
      request.includeMetadata ? { ...m, ...this.#details(started) } : m;

    // 1. A fresh answer from L1: no upstream call at all.
    const l1 = d.cache.get(userId, key);
    if (l1?.fresh) {
      d.onAnswer?.('fresh_cache');
      return { status: 200, body: this.#fromCache(l1.entry, meta({ from_fallback: false, cached: true })) };
    }

    const passages = d.retrieve(userId, request.query, PASSAGES);

    // 2. The model, through retry → breaker (+ timeout) → bulkhead.
    let reason: FallbackReason;
    try {
      const answer = await d.llm.complete({ question: request.query, passages }, signal);
      const entry = this.#remember(userId, key, passages, answer);
      d.onAnswer?.('llm');
      return { status: 200, body: this.#fromCache(entry, meta({ from_fallback: false, cached: false })) };
    } catch (err) {
      if (signal?.aborted) throw err; // the client went away: nobody to degrade for
      reason = fallbackReasonOf(err);
    }

    // 2b. The secondary model, behind its own breaker: a full answer, still marked degraded. The primary's
    //     fallback_reason stays visible; metadata.model names who answered.
    if (d.secondary) {
      try {
        const answer = await d.secondary.complete({ question: request.query, passages }, signal);
        const entry = this.#remember(userId, key, passages, answer);
        d.onAnswer?.('secondary_model', reason);
        const m = meta({
          from_fallback: true,
          cached: false,
          fallback_reason: reason,
          fallback_level: 'secondary_model',
        });
        return { status: 200, body: this.#fromCache(entry, { ...m, model: answer.model }) };
      } catch (err) {
        if (signal?.aborted) throw err;
        // Both models failed: the ladder goes on with the primary's reason.
      }
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
    const passages = d.retrieve(userId, query, PASSAGES);
    const request = { question: query, passages };
    const key = normalizeQuery(query);
    let primaryError: unknown;
    try {
      const answer = await d.llm.complete(request, signal);
      const entry = this.#remember(userId, key, passages, answer);
      return this.#fromCache(entry, { from_fallback: false, cached: false, model: answer.model });
    } catch (err) {
      if (!d.secondary || signal?.aborted) throw err;
      primaryError = err;
    }
    let answer: LlmAnswer;
    try {
      answer = await d.secondary.complete(request, signal);
    } catch (secondaryError) {
      // The worker decides from this error: an open circuit puts the job back unspent, so a real failure
      // of the one model that took the call must not hide behind the other's open circuit.
      throw laterOf(primaryError, secondaryError);
    }
    const entry = this.#remember(userId, key, passages, answer);
    return this.#fromCache(entry, {
      from_fallback: true,
      cached: false,
      fallback_reason: fallbackReasonOf(primaryError),
      fallback_level: 'secondary_model',
      model: answer.model,
    });
  }

  /** A model's answer becomes the last good answer for this user and question (L1 and L2). */
  #remember(userId: string, key: string, passages: readonly Passage[], answer: LlmAnswer): CachedAnswer {
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
