import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../adapters/db/database.js';
import { authenticate } from '../adapters/db/users.js';
import { parseBearer } from '../domain/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; name: string };
  }
}

/** preHandler: a valid bearer token or 401. The token is looked up by hash and compared in constant time. */
export function requireUser(db: Database) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = parseBearer(request.headers.authorization);
    const user = token === null ? null : authenticate(db, token);
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
