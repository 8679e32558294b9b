import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../adapters/db/database.js';
import { authenticate } from '../adapters/db/users.js';
import { parseBearer } from '../domain/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; name: string };
  }
}

/**
 * Root onRequest hook, first of all: who is asking. Sets `request.user` for a valid bearer token (looked
 * up by hash, compared in constant time) and leaves it unset otherwise. It never answers by itself: the
 * rate limiter runs next and charges the request to the user, or to the client address when the token is
 * missing or wrong, before any route-level check can answer 401.
 */
export function identifyUser(db: Database) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = parseBearer(request.headers.authorization);
    const user = token === null ? null : authenticate(db, token);
    if (user) request.user = user;
  };
}

/** Route-level onRequest hook: 401 unless `identifyUser` found a valid token (the body is never read). */
export async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.user) return;
  reply.header('WWW-Authenticate', 'Bearer realm="assistant"');
  await reply
    .code(401)
    .send({ statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' });
}
