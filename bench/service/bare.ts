/**
 * The floor for `npm run bench:service`: a bare Fastify app with one JSON POST route and the logger off,
 * in its own process so its CPU time is its own. Prints `BARE_READY {"url", "pid"}` once listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/assistant/query', async (request) => {
  const body = request.body as { query?: unknown };
  return { answer: 'ok', sources: [], metadata: { from_fallback: false, cached: false, query: body.query } };
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`BARE_READY ${JSON.stringify({ url, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
