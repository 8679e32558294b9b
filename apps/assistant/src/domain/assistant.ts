import { CircuitOpenError } from 'tripswitch';
import type { AnswerCache, CachedAnswer, SharedAnswerCache } from './cache.js';
import type { LlmAnswer, LlmStreamPart } from './llm.js';
import { type FallbackReason, fallbackReasonOf, type ModelPort } from './llm-gateway.js';
import { normalizeQuery } from './query-key.js';
import type { Passage } from './storage.js';
import { requireWellFormed, SurrogateJoiner, toWellFormed } from './text.js';
import type {
  AnswerMetadata,
  AssistantOutcome,
  FallbackLevel,
  JobQueue,
  QueryRequest,
  QueryResponse,
  Source,
  StreamEvent,
  StreamingOutcome,
} from './types.js';

export interface AssistantDeps {
  llm: ModelPort;
  /**
   * The secondary model (LLM_FALLBACK_*) behind its own breaker: asked when the primary's circuit is open
   * or its call failed, before any cached or partial answer (DESIGN.md 3.1).
   */
  secondary?: ModelPort | undefined;
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
  /** Told which rung answered each query (metrics); `partial`: a stream that failed after its first token. */
  onAnswer?(
    level: FallbackLevel | 'llm' | 'fresh_cache' | 'unavailable' | 'partial',
    reason?: FallbackReason,
  ): void;
  /** 503 Retry-After when the breaker is isolated (no automatic probe time). */
  defaultRetryAfterMs: number;
  staleTtlMs: number;
  now?: () => number;
}

const PASSAGES = 3;

/** What one request needs along the ladder: who asks what, when it started, and its L1 entry. */
interface Ask {
  userId: string;
  request: QueryRequest;
  key: string;
  /** False when the documents version could not be read (database away): no fresh hits then. */
  verified: boolean;
  started: number;
  l1: ReturnType<AnswerCache['get']>;
  signal: AbortSignal | undefined;
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
  return {
    answer: toWellFormed(text),
    sources: toSources(passages),
    metadata: { ...metadata, refused: true },
  };
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
    const d = this.#d;
    const ask = await this.#ask(userId, request, signal);

    // 1. A fresh answer from L1: no upstream call at all.
    const fresh = this.#fresh(ask);
    if (fresh) return fresh;

    const passages = await this.#passages(ask);
    // Without the user's documents a model would answer ungrounded (and that answer would be cached):
    // skip the models and degrade to the rungs that need no database.
    if (passages === undefined) return this.#degrade(ask, [], 'database_unavailable');

    // 2. The model, through retry → bulkhead → breaker (+ timeout).
    let reason: FallbackReason;
    try {
      const answer = await d.llm.complete({ question: request.query, passages }, signal);
      return { status: 200, body: this.#answered(ask, passages, answer, undefined, undefined) };
    } catch (err) {
      if (signal?.aborted) throw err; // the client went away: nobody to degrade for
      reason = fallbackReasonOf(err);
    }

    // 2b. The secondary model, behind its own breaker: a full answer, still marked degraded. The primary's
    //     fallback_reason stays visible; metadata.model names who answered.
    if (d.secondary) {
      try {
        const answer = await d.secondary.complete({ question: request.query, passages }, signal);
        return { status: 200, body: this.#answered(ask, passages, answer, 'secondary_model', reason) };
      } catch (err) {
        if (signal?.aborted) throw err;
        // Both models failed: the ladder goes on with the primary's reason.
      }
    }
    return this.#degrade(ask, passages, reason);
  }

  /**
   * `"stream": true` (DESIGN.md 3.1): the ladder with streamed model rungs. A fresh cache hit, or no token
   * from either model (circuit open, failure before the first token), gives exactly the non-streamed
   * outcome. Otherwise the events: tokens, then `done` with the full response (cached like any model
   * answer), or `error` with `partial: true` after a mid-stream failure (counted by the breaker as a
   * failure; the partial answer is never cached). A client that stops reading cancels the upstream call.
   */
  async answerStream(userId: string, request: QueryRequest, signal?: AbortSignal): Promise<StreamingOutcome> {
    const d = this.#d;
    if (!d.llm.stream) return { kind: 'complete', outcome: await this.answer(userId, request, signal) };
    const ask = await this.#ask(userId, request, signal);
    const fresh = this.#fresh(ask);
    if (fresh) return { kind: 'complete', outcome: fresh };
    const passages = await this.#passages(ask);
    if (passages === undefined) {
      return { kind: 'complete', outcome: await this.#degrade(ask, [], 'database_unavailable') };
    }
    let reason: FallbackReason | undefined;
    const rungs: [ModelPort | undefined, 'secondary_model' | undefined][] = [
      [d.llm, undefined],
      [d.secondary, 'secondary_model'],
    ];
    for (const [port, level] of rungs) {
      if (!port?.stream) continue;
      const parts = port.stream({ question: request.query, passages }, signal);
      let first: IteratorResult<LlmStreamPart, void>;
      try {
        first = await parts.next();
      } catch (err) {
        if (signal?.aborted) throw err;
        reason ??= fallbackReasonOf(err);
        continue;
      }
      if (first.done) {
        reason ??= 'upstream_error';
        continue;
      }
      if (first.value.type === 'done') {
        // An answer without a single token (a refusal, or an endpoint that does not stream): not a stream.
        const body = this.#answered(ask, passages, first.value.answer, level, reason);
        return { kind: 'complete', outcome: { status: 200, body } };
      }
      return { kind: 'stream', events: this.#events(ask, passages, first.value, parts, level, reason) };
    }
    return { kind: 'complete', outcome: await this.#degrade(ask, passages, reason ?? 'upstream_error') };
  }

  async *#events(
    ask: Ask,
    passages: readonly Passage[],
    first: LlmStreamPart,
    parts: AsyncGenerator<LlmStreamPart, void, undefined>,
    level: 'secondary_model' | undefined,
    reason: FallbackReason | undefined,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    const d = this.#d;
    let text = '';
    let finished = false;
    // A model's chunk may end inside a surrogate pair: each token event carries whole code points only.
    const joiner = new SurrogateJoiner();
    try {
      let part = first;
      for (;;) {
        if (part.type === 'token') {
          const whole = joiner.push(part.text);
          if (whole !== '') {
            text += whole;
            yield { type: 'token', text: whole };
          }
        } else {
          const rest = joiner.end();
          if (rest !== '') {
            text += rest;
            yield { type: 'token', text: rest };
          }
          finished = true;
          // The answer is exactly what the user was sent: the tokens' texts joined.
          const answer = part.answer.refused ? part.answer : { ...part.answer, text };
          yield { type: 'done', body: this.#answered(ask, passages, answer, level, reason) };
          return;
        }
        const step = await parts.next();
        if (step.done) return;
        part = step.value;
      }
    } catch (err) {
      finished = true;
      if (ask.signal?.aborted) return; // the client is gone: nobody to tell
      const why = fallbackReasonOf(err);
      d.onAnswer?.('partial', why);
      yield { type: 'error', reason: why, partial: true };
    } finally {
      // A consumer that stopped reading: end the model stream too (neither success nor failure).
      if (!finished) await parts.return(undefined).catch(() => {});
    }
  }

  /**
   * A model's answer as the response: counted, cached as the last good answer — unless it is a refusal
   * (the model working as designed, DESIGN.md 3.1: answered, never cached). `level` marks the secondary
   * model, with the primary's `reason`.
   */
  #answered(
    ask: Ask,
    passages: readonly Passage[],
    answer: LlmAnswer,
    level: 'secondary_model' | undefined,
    reason: FallbackReason | undefined,
  ): QueryResponse {
    this.#d.onAnswer?.(level ?? 'llm', reason);
    const metadata =
      level === undefined
        ? this.#meta(ask, { from_fallback: false, cached: false })
        : this.#secondaryMeta(ask, reason ?? 'upstream_error', answer.model);
    if (answer.refused) return refusal(answer.text, passages, metadata);
    return this.#fromCache(this.#remember(ask.userId, ask.key, passages, answer), metadata);
  }

  async #ask(userId: string, request: QueryRequest, signal: AbortSignal | undefined): Promise<Ask> {
    // An unpaired surrogate is the request's fault (400): it could reach neither a strict provider nor the
    // L2 cache (whose UTF-8 key would merge it with U+FFFD) intact.
    requireWellFormed(request.query, 'query');
    const started = this.#now();
    const { key, verified } = await this.#cacheKey(userId, request.query);
    return { userId, request, key, verified, started, l1: this.#d.cache.get(userId, key), signal };
  }

  /** The user's top passages, or undefined when the database cannot answer. */
  async #passages(ask: Ask): Promise<Passage[] | undefined> {
    try {
      return await this.#d.retrieve(ask.userId, ask.request.query, PASSAGES);
    } catch {
      return undefined;
    }
  }

  #fresh(ask: Ask): AssistantOutcome | undefined {
    // An answer whose documents version could not be checked (database away) is only a fallback.
    if (!ask.l1?.fresh || !ask.verified) return undefined;
    this.#d.onAnswer?.('fresh_cache');
    return {
      status: 200,
      body: this.#fromCache(ask.l1.entry, this.#meta(ask, { from_fallback: false, cached: true })),
    };
  }

  #meta(ask: Ask, m: AnswerMetadata): AnswerMetadata {
    return ask.request.includeMetadata ? { ...m, ...this.#details(ask.started) } : m;
  }

  #secondaryMeta(ask: Ask, reason: FallbackReason, model: string): AnswerMetadata {
    const m = this.#meta(ask, {
      from_fallback: true,
      cached: false,
      fallback_reason: reason,
      fallback_level: 'secondary_model',
    });
    return { ...m, model };
  }

  /** Rungs 3–6: the last good answer, excerpts, a queued job, or 503 — each marked with `reason`. */
  async #degrade(ask: Ask, passages: readonly Passage[], reason: FallbackReason): Promise<AssistantOutcome> {
    const d = this.#d;
    const { userId, request, key, l1 } = ask;
    const allowed = new Set(request.fallback);
    const degraded = (level: FallbackLevel, cached: boolean) =>
      this.#meta(ask, { from_fallback: true, cached, fallback_reason: reason, fallback_level: level });

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
    const request = { question: query, passages };
    let primaryError: unknown;
    try {
      const answer = await d.llm.complete(request, signal);
      const metadata = { from_fallback: false, cached: false, model: answer.model };
      if (answer.refused) return refusal(answer.text, passages, metadata);
      const entry = this.#remember(userId, key, passages, answer);
      return this.#fromCache(entry, metadata);
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
    const metadata: AnswerMetadata = {
      from_fallback: true,
      cached: false,
      fallback_reason: fallbackReasonOf(primaryError),
      fallback_level: 'secondary_model',
      model: answer.model,
    };
    if (answer.refused) return refusal(answer.text, passages, metadata);
    const entry = this.#remember(userId, key, passages, answer);
    return this.#fromCache(entry, metadata);
  }

  /** A model's answer becomes the last good answer for this user and question (L1 and L2). */
  #remember(userId: string, key: string, passages: readonly Passage[], answer: LlmAnswer): CachedAnswer {
    const d = this.#d;
    const entry: CachedAnswer = {
      // Whatever the model sent, what we send on and cache is valid UTF-8.
      answer: toWellFormed(answer.text),
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
