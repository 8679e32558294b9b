// The gateway's bulkhead sits in front of the breaker (DESIGN.md 3.1, 3.3): time a call spends waiting for a
// slot is the service's, never the provider's, so a busy service with a healthy provider records no
// timeouts and never opens its circuit. Streams take slots of the same bulkhead, and the client's socket
// pool is as large as the bulkhead (app.ts), so no request waits for a socket on its timeout either. Real
// sim on loopback, real undici pool, real breaker from `llmBreakerOptions`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BulkheadRejectedError, CircuitBreaker } from 'tripswitch';
import { createLlmClient } from '../../src/adapters/llm/index.js';
import type { LlmStreamPart } from '../../src/domain/llm.js';
import {
  fallbackReasonOf,
  type LlmBreakerSettings,
  LlmGateway,
  llmBreakerOptions,
} from '../../src/domain/llm-gateway.js';
import { SAMPLE_PASSAGE, SAMPLE_QUESTION, useSimForClients } from '../helpers/llm-fixture.js';

const request = { question: SAMPLE_QUESTION, passages: [SAMPLE_PASSAGE] };
const fx = useSimForClients();

const SETTINGS: LlmBreakerSettings = {
  name: 'llm',
  failMax: 2,
  openMs: 60_000,
  failWindowMs: 60_000,
  timeoutMs: 700,
  firstTokenMs: 700,
  idleMs: 10_000,
};

/** A gateway wired as app.ts wires it: the client's pool has exactly as many sockets as the bulkhead slots. */
function gateway(maxConcurrent: number, maxWaitMs?: number) {
  const breaker = new CircuitBreaker(llmBreakerOptions(SETTINGS));
  const client = fx.track(
    createLlmClient({ provider: 'sim', baseUrl: fx.sim.url, connections: maxConcurrent }),
  );
  return { breaker, gateway: new LlmGateway(client, breaker, { maxConcurrent, maxWaitMs }) };
}

async function drain(parts: AsyncIterable<LlmStreamPart>): Promise<boolean> {
  for await (const part of parts) if (part.type === 'done') return true;
  return false;
}

describe('LlmGateway: the bulkhead is in front of the breaker', () => {
  test('10 calls through 2 slots (queue 8) with a healthy 200 ms provider: all answered, no timeout recorded', async () => {
    // Five rounds of 200 ms: the last calls wait ~800 ms for a slot, longer than the 700 ms model timeout.
    // Waiting inside the breaker's timed region, they timed out and opened the circuit without reaching the
    // model; each call itself takes 200 ms.
    fx.sim.setMode({ mode: 'slow', latency_ms: 200 });
    const { breaker, gateway: g } = gateway(2, 60_000);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => g.complete(request)));
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(
      rejected.map((r) => String((r as PromiseRejectedResult).reason)),
      [],
      'every call answered',
    );
    const t = breaker.stats().totals;
    assert.equal(t.timeouts, 0);
    assert.equal(t.failures, 0);
    assert.equal(t.successes, 10);
    assert.equal(breaker.state, 'closed');
  });

  test('10 streams through 2 slots: the first-token clock starts with the slot, every stream completes', async () => {
    // Streams used to run beside the bulkhead: the pool queued them with their first-token timer running.
    fx.sim.setMode({ mode: 'slow', latency_ms: 300 });
    const { breaker, gateway: g } = gateway(2, 60_000);
    const done = await Promise.all(Array.from({ length: 10 }, () => drain(g.stream(request))));
    assert.deepEqual(done, Array(10).fill(true));
    const t = breaker.stats().totals;
    assert.equal(t.timeouts, 0);
    assert.equal(t.failures, 0);
    assert.equal(t.successes, 10);
  });

  test('a call that gets no slot within LLM_QUEUE_WAIT_MS is refused as overloaded, counted nowhere', async () => {
    fx.sim.setMode({ mode: 'slow', latency_ms: 600 });
    const { breaker, gateway: g } = gateway(1, 100);
    const first = g.complete(request);
    const second = g.complete(request);
    const third = drain(g.stream(request));
    for (const late of [second, third]) {
      await assert.rejects(late, (e: unknown) => {
        assert.ok(e instanceof BulkheadRejectedError, String(e));
        assert.equal(fallbackReasonOf(e), 'overloaded');
        return true;
      });
    }
    assert.ok((await first).text.length > 0);
    const t = breaker.stats().totals;
    assert.deepEqual(
      { successes: t.successes, failures: t.failures, rejections: t.rejections },
      {
        successes: 1,
        failures: 0,
        rejections: 0,
      },
    );
  });
});
