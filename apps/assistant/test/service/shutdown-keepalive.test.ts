// Graceful shutdown with a keep-alive client: close() must not wait for the client to hang up (it once took
// Fastify's 72 s keepAliveTimeout).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_TOKEN, eventually, startService } from '../helpers/service.js';

/** main.ts forces exit(1) after HTTP_SHUTDOWN_GRACE_MS (default 10 s) + 5 s of shutting down. */
const SHUTDOWN_DEADLINE_MS = 15_000;

test('app.close() finishes promptly after the in-flight request of a keep-alive client', async (t) => {
  const svc = await startService({ env: { LLM_TIMEOUT_MS: '10000' } });
  t.after(async () => {
    svc.app.server.server.closeAllConnections();
    await svc.close();
  });
  await svc.setMode({ mode: 'slow', latency_ms: 800 });

  const inFlight = svc.query(DEMO_TOKEN, { query: 'What does patience look like?' });
  await eventually(() => (svc.sim.stats().in_flight > 0 ? true : undefined), 'the model call to start');
  let closed = false;
  const closing = svc.app.close().then(() => {
    closed = true;
  });
  const reply = await inFlight;
  assert.equal(reply.status, 200);
  await Promise.race([closing, sleep(SHUTDOWN_DEADLINE_MS)]);
  assert.equal(closed, true, `close() still waiting ${SHUTDOWN_DEADLINE_MS} ms after the last response`);
});
