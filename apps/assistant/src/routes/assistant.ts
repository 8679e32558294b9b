import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Assistant } from '../domain/assistant.js';
import { MAX_QUERY_CHARS } from '../domain/search/text.js';
import {
  type AssistantOutcome,
  DEFAULT_FALLBACK,
  FALLBACK_OPTIONS,
  type FallbackOption,
  type JobQueue,
  type StreamEvent,
} from '../domain/types.js';
import { requireUser } from './auth.js';
import { httpError } from './http-error.js';

/** Longest question accepted, in code points (JSON Schema `maxLength`); search reads all of it. */
export { MAX_QUERY_CHARS };

const QueryBody = Type.Object(
  {
    query: Type.String({
      minLength: 1,
      maxLength: MAX_QUERY_CHARS,
      pattern: '\\S',
      description: 'The question',
    }),
    stream: Type.Optional(
      Type.Boolean({
        description:
          'Stream the model answer as text/event-stream (token events, then done); answers that need no model ' +
          'token (fresh cache, degraded) come back as the usual JSON — check Content-Type',
      }),
    ),
    include_metadata: Type.Optional(
      Type.Boolean({ description: 'Add model, breaker state and timing to metadata' }),
    ),
    fallback: Type.Optional(
      Type.Array(Type.Union(FALLBACK_OPTIONS.map((o) => Type.Literal(o))), {
        uniqueItems: true,
        maxItems: FALLBACK_OPTIONS.length,
        description: 'Allowed degraded answers, in ladder order. Default ["cache", "excerpts"]',
      }),
    ),
  },
  { additionalProperties: false },
);

const Source = Type.Object({
  document_id: Type.String(),
  title: Type.String(),
  excerpt: Type.String(),
  score: Type.Number(),
});
const Metadata = Type.Object(
  {
    from_fallback: Type.Boolean(),
    cached: Type.Boolean(),
    fallback_reason: Type.Optional(Type.String()),
    fallback_level: Type.Optional(Type.String()),
    job_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const Answer = Type.Object({ answer: Type.String(), sources: Type.Array(Source), metadata: Metadata });
const Queued = Type.Object({ job_id: Type.String(), answer: Type.String(), metadata: Metadata });
const ErrorBody = Type.Object(
  { statusCode: Type.Optional(Type.Number()), error: Type.String(), message: Type.String() },
  { additionalProperties: true },
);

/** Why a stream was cut short by the server's own shutdown (the model call is aborted: neither outcome). */
export class ShuttingDownError extends Error {
  readonly statusCode = 503;
  constructor() {
    super('the server is shutting down');
    this.name = 'ShuttingDownError';
  }
}

/** The last frame of a stream the server ends because it is stopping: the client may ask again elsewhere. */
export const SHUTDOWN_FRAME = `event: error\ndata: ${JSON.stringify({
  reason: 'shutting_down',
  partial: true,
  message: 'the server is shutting down; ask again',
})}\n\n`;

/**
 * `event: token` / `done` / `error` frames; JSON keeps every payload on one `data:` line. When `stop` is
 * aborted (server shutdown) the stream ends at once with SHUTDOWN_FRAME, even while the model is silent.
 */
async function* serverSentEvents(
  events: AsyncGenerator<StreamEvent>,
  stop: AbortSignal,
): AsyncGenerator<string> {
  let stopped!: () => void;
  const stopping = new Promise<undefined>((resolve) => {
    stopped = () => resolve(undefined);
  });
  if (stop.aborted) stopped();
  else stop.addEventListener('abort', stopped, { once: true });
  let ended = false;
  try {
    for (;;) {
      const step = await Promise.race([events.next(), stopping]);
      if (step === undefined || stop.aborted) {
        // A client that left is told nothing (there is nobody to tell); a shutdown is announced.
        if (stop.reason instanceof ShuttingDownError) yield SHUTDOWN_FRAME;
        return;
      }
      if (step.done) {
        ended = true;
        return;
      }
      const e = step.value;
      if (e.type === 'token') yield `event: token\ndata: ${JSON.stringify({ text: e.text })}\n\n`;
      else if (e.type === 'done') yield `event: done\ndata: ${JSON.stringify(e.body)}\n\n`;
      else yield `event: error\ndata: ${JSON.stringify({ reason: e.reason, partial: e.partial })}\n\n`;
    }
  } finally {
    stop.removeEventListener('abort', stopped);
    // The events generator may still be waiting on the model (its call is being aborted): end it once that
    // wait settles, without holding this stream open for it.
    if (!ended) void events.return(undefined).catch(() => {});
  }
}

interface Deps {
  assistant: Assistant;
  queue: JobQueue;
  /** ms a stop lets non-streamed requests waiting on the model finish before aborting them (503). */
  shutdownGraceMs: number;
}

/** POST /api/assistant/query and GET /api/assistant/jobs/:id. */
export const assistantRoutes: FastifyPluginAsync<Deps> = async (
  app,
  { assistant, queue, shutdownGraceMs },
) => {
  // onRequest: an unauthenticated body is never parsed or validated (the root hooks already identified the
  // caller and charged the request to the rate limit).
  app.addHook('onRequest', requireUser);

  // Requests waiting on the model, by their abort controllers. On close, open streams end at once (a final
  // "shutting down" frame, their model call aborted: neither success nor failure for the breaker); server.close()
  // would otherwise wait for the model's last token or its idle timeout. Non-streamed requests get
  // `shutdownGraceMs` to finish, then the same abort and a 503.
  const streams = new Set<AbortController>();
  const answers = new Set<AbortController>();
  let closing = false;
  let graceOver = false;
  let grace: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    for (const controller of streams) controller.abort(new ShuttingDownError());
    grace = setTimeout(() => {
      graceOver = true;
      for (const controller of answers) controller.abort(new ShuttingDownError());
    }, shutdownGraceMs);
    grace.unref();
  });
  app.addHook('onClose', async () => clearTimeout(grace));

  app.post<{
    Body: { query: string; include_metadata?: boolean; fallback?: FallbackOption[]; stream?: boolean };
  }>(
    '/api/assistant/query',
    {
      schema: {
        summary:
          'Ask a question over your documents; degrades to cache, excerpts or a queued job when the model is down',
        security: [{ bearer: [] }],
        body: QueryBody,
        response: { 200: Answer, 202: Queued, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // Abort the model call if the client goes away before the answer is written (the request stream's
      // own 'close' fires once the body is read, so the response's is the one that means "gone").
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
      };
      reply.raw.once('close', onClose);
      let streaming = false;
      // Overtaken by the shutdown (a stream before its first token, an answer past the grace): a 503 like
      // any request during a stop.
      const shutdownAs503 = (err: unknown): never => {
        if (controller.signal.reason instanceof ShuttingDownError) {
          reply.header('Retry-After', '5');
          throw controller.signal.reason;
        }
        throw err;
      };
      const tracked = body.stream === true ? streams : answers;
      tracked.add(controller);
      // A request that got past the router just as the stop began.
      if (closing && (tracked === streams || graceOver)) controller.abort(new ShuttingDownError());
      try {
        const ask = {
          query: body.query,
          includeMetadata: body.include_metadata === true,
          fallback: body.fallback ?? DEFAULT_FALLBACK,
        };
        let outcome: AssistantOutcome;
        if (body.stream === true) {
          const streamed = await assistant
            .answerStream(request.user!.id, ask, controller.signal)
            .catch(shutdownAs503);
          if (streamed.kind === 'stream') {
            // The client going away mid-stream aborts `controller`, which ends the model call at once
            // (neither success nor failure), even while the model is silent: Fastify's destroying the
            // payload stream alone would reach the generator only after the model's next token.
            streaming = true;
            reply.header('content-type', 'text/event-stream; charset=utf-8');
            reply.header('cache-control', 'no-store');
            reply.header('x-accel-buffering', 'no');
            reply.raw.once('close', () => streams.delete(controller));
            return reply.code(200).send(Readable.from(serverSentEvents(streamed.events, controller.signal)));
          }
          outcome = streamed.outcome;
        } else {
          outcome = await assistant.answer(request.user!.id, ask, controller.signal).catch(shutdownAs503);
        }
        if (outcome.status === 503) reply.header('Retry-After', String(outcome.retryAfterSeconds));
        return reply.code(outcome.status).send(outcome.body);
      } finally {
        // A streamed reply keeps listening until the response closes (`once` removes the listener then).
        if (!streaming) {
          reply.raw.off('close', onClose);
          tracked.delete(controller);
        }
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/assistant/jobs/:id',
    {
      schema: {
        summary: 'A queued job of yours: status and, once done, the answer',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
      },
    },
    async (request, reply) => {
      const job = await queue.get(request.user!.id, request.params.id).catch(() => undefined);
      if (job === undefined) {
        reply.header('Retry-After', '5');
        return reply.code(503).send(httpError(503, 'the job store is unreachable; retry shortly'));
      }
      if (!job) return reply.code(404).send(httpError(404, 'no such job'));
      return job;
    },
  );
};
