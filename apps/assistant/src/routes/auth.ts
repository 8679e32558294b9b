import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBearer } from '../domain/auth.js';
import type { Authenticator } from '../domain/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; name: string };
  }
}

/** preHandler: a valid bearer token or 401. The token is looked up by hash and compared in constant time. */
export function requireUser(auth: Authenticator) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = parseBearer(request.headers.authorization);
    // A store outage (StorageUnavailableError, 503) reaches the error handler: no answer either way.
    const user = token === null ? null : await auth.authenticate(token);
    if (!user) {
      reply.header('WWW-Authenticate', 'Bearer realm="assistant"');
      await reply
        .code(401)
        .send({ statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' });
      return;
    }
    request.user = user;
  };
}
