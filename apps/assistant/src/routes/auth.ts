import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBearer } from '../domain/auth.js';
import type { Authenticator } from '../domain/authenticator.js';
import { httpError } from './http-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; name: string };
    /** Why the caller could not be identified (the user store failed), for `requireUser` to report. */
    authError?: unknown;
  }
}

/**
 * Root onRequest hook, first of all: who is asking. Sets `request.user` for a valid bearer token (looked
 * up by hash, compared in constant time) and leaves it unset otherwise. It never answers by itself: the
 * rate limiter runs next and charges the request to the user, or to the client address when the token is
 * missing or wrong, before any route-level check can answer 401. When the user store cannot answer (the
 * database is away and the token was not seen lately), the error is kept for `requireUser`: a 503, not a
 * 401 that would tell a valid client its token is wrong.
 */
export function identifyUser(auth: Authenticator) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = parseBearer(request.headers.authorization);
    if (token === null) return;
    try {
      const user = await auth.authenticate(token);
      if (user) request.user = user;
    } catch (err) {
      request.authError = err;
    }
  };
}

/** Route-level onRequest hook: 401 unless `identifyUser` found a valid token (the body is never read). */
export async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.user) return;
  if (request.authError !== undefined) throw request.authError;
  reply.header('WWW-Authenticate', 'Bearer realm="assistant"');
  await reply.code(401).send(httpError(401, 'a valid bearer token is required'));
}
