// Graceful shutdown: close() lets a request that is waiting on a slow provider finish with its answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_TOKEN, eventually, startService } from '../helpers/service.js';

test('app.close() while a slow model call is in flight: the request completes with 200', async (t) => {
  const svc = await startService({ env: { LLM_TIMEOUT_MS: '10000' } });
  t.after(() => svc.close());
  await svc.setMode({ mode: 'slow', latency_ms: 800 });

  // `connection: close`: a keep-alive client holds the server's close() open (see shutdown-keepalive).
  const inFlight = svc.request('POST', '/api/assistant/query', {
    token: DEMO_TOKEN,
    body: { query: 'What does patience look like?' },
    headers: { connection: 'close' },
  });
  await eventually(() => (svc.sim.stats().in_flight > 0 ? true : undefined), 'the model call to start');

  const closing = svc.app.close();
  const reply = await inFlight;
  await closing;

  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(reply.json.metadata, { from_fallback: false, cached: false });
  assert.ok(reply.json.answer.length > 0);
  assert.equal(svc.sim.stats().by_outcome.ok, 1, 'the provider finished the call');

  // The listener is gone: new connections are refused.
  await assert.rejects(fetch(`${svc.baseUrl}/health/live`));
});
