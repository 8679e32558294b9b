import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DOCUMENT_LIMITS } from '../domain/document-rules.js';
import type { DocumentStore } from '../domain/storage.js';
import { requireUser } from './auth.js';
import { httpError } from './http-error.js';

/** Bounds what one user can store (200 KB each: at most ~200 MB per user). */
export const MAX_DOCUMENTS_PER_USER = 1000;

const DocumentBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: DOCUMENT_LIMITS.titleMaxChars, pattern: '\\S' }),
    content: Type.String({ minLength: 1, maxLength: DOCUMENT_LIMITS.contentMaxChars, pattern: '\\S' }),
  },
  { additionalProperties: false },
);

/** POST /api/documents and GET /api/documents: each user sees only their own. */
export const documentRoutes: FastifyPluginAsync<{ documents: DocumentStore }> = async (
  app,
  { documents },
) => {
  // onRequest: an unauthenticated body is never parsed or validated.
  app.addHook('onRequest', requireUser);

  app.post<{ Body: { title: string; content: string } }>(
    '/api/documents',
    {
      schema: {
        summary: 'Add a document to your collection',
        security: [{ bearer: [] }],
        body: DocumentBody,
      },
    },
    async (request, reply) => {
      if ((await documents.countDocuments(request.user!.id)) >= MAX_DOCUMENTS_PER_USER) {
        return reply
          .code(429)
          .send(httpError(429, `document quota reached (${MAX_DOCUMENTS_PER_USER} per user)`));
      }
      const doc = await documents.createDocument(request.user!.id, request.body);
      return reply.code(201).send(doc);
    },
  );

  app.get<{ Querystring: { limit?: string; offset?: string } }>(
    '/api/documents',
    {
      schema: {
        summary: 'Your documents',
        security: [{ bearer: [] }],
        querystring: Type.Object({
          // Strings: the server does not coerce types; the patterns bound them before parsing.
          limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d{0,1}|[1-4]\\d{2}|500)$' })),
          offset: Type.Optional(Type.String({ pattern: '^\\d{1,9}$' })),
        }),
      },
    },
    async (request) => {
      const opts: { limit?: number; offset?: number } = {};
      if (request.query.limit !== undefined) opts.limit = Number(request.query.limit);
      if (request.query.offset !== undefined) opts.offset = Number(request.query.offset);
      return { documents: await documents.listDocuments(request.user!.id, opts) };
    },
  );
};
