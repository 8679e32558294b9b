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
  /** Top passages of this user's own documents for a query (bm25). */
  retrieve(userId: string, query: string, limit: number): Passage[];
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

interface LazyPassages {
  get(): Passage[];
  request(question: string): { readonly question: string; readonly passages: Passage[] };
}

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
    const key = await this.#cacheKey(userId, request.query);
    const meta = (m: AnswerMetadata): AnswerMetadata =>
      request.includeMetadata ? { ...m, ...this.#details(started) } : m;

    // 1. A fresh answer from L1: no upstream call at all.
    const l1 = d.cache.get(userId, key);
    if (l1?.fresh) {
      d.onAnswer?.('fresh_cache');
      return { status: 200, body: this.#fromCache(l1.entry, meta({ from_fallback: false, cached: true })) };
    }

    // Retrieval only when a rung uses the passages: the model call reads them only once its protection
    // lets the call through (an open circuit rejects before that), the excerpts rung only when reached.
    const passages = this.#passages(userId, request.query);

    // 2. The model, through retry → breaker (+ timeout) → bulkhead.
    let reason: FallbackReason;
    try {
      const answer = await d.llm.complete(passages.request(request.query), signal);
      d.onAnswer?.('llm');
      // A refusal is the model working as designed (DESIGN.md 3.1): answered, never cached.
      if (answer.refused) {
        return {
          status: 200,
          body: refusal(answer.text, passages.get(), meta({ from_fallback: false, cached: false })),
        };
      }
      const entry = this.#remember(userId, key, answer, passages.get());
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
    const excerpts = allowed.has('excerpts') ? passages.get() : [];
    if (excerpts.length > 0) {
      d.onAnswer?.('excerpts', reason);
      return {
        status: 200,
        body: {
          answer: excerptsAnswer(reason, excerpts),
          sources: toSources(excerpts),
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
    const key = await this.#cacheKey(userId, query);
    const passages = d.retrieve(userId, query, PASSAGES);
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

  /** The question, normalised, and the documents the answer is built from (L1 and L2 use the same key). */
  async #cacheKey(userId: string, query: string): Promise<string> {
    const version = await this.#d.documentsVersion?.(userId);
    const question = normalizeQuery(query);
    return version === undefined ? question : `${question}\u0000${version}`;
  }

  /**
   * The user's top passages for `query`, retrieved at most once and only when first read. `request()` is
   * the model request whose `passages` property reads them: the gateway builds the client's request inside
   * the breaker's call, so a rejected call (open or isolated circuit, full bulkhead) never searches.
   */
  #passages(userId: string, query: string): LazyPassages {
    let found: Passage[] | undefined;
    const get = (): Passage[] => {
      found ??= this.#d.retrieve(userId, query, PASSAGES);
      return found;
    };
    return {
      get,
      request: (question) => ({
        question,
        get passages() {
          return get();
        },
      }),
    };
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
