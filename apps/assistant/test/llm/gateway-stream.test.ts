// `LlmGateway.stream` on `breaker.stream()` (DESIGN.md 2.3 streams, 3.1 streaming): a real breaker built by
// `llmBreakerOptions`, real LLM clients against the real sim and, for byte patterns the sim never sends, a
// raw node:http server on 127.0.0.1. What the breaker records for each way a stream ends, and that every
// early end frees the upstream socket.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from 'tripswitch';
import { HttpStatusError } from 'tripswitch/http';
import {
  createLlmClient,
  type LlmClient,
  LlmResponseError,
  OpenAiClient,
  type Passage,
} from '../../src/adapters/llm/index.js';
import { llmBreakerSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { LlmStreamPart } from '../../src/domain/llm.js';
import { type LlmBreakerSettings, LlmGateway, llmBreakerOptions } from '../../src/domain/llm-gateway.js';
import { STALL_TOKENS } from '../../src/sim/modes.js';
import { SAMPLE_PASSAGE, SAMPLE_QUESTION, until, useSimForClients } from '../helpers/llm-fixture.js';

const passages: Passage[] = [SAMPLE_PASSAGE];
const request = { question: SAMPLE_QUESTION, passages };

const fx = useSimForClients();

/** Generous bounds by default (a loaded machine must not time out a healthy stream); tests narrow one. */
const SETTINGS: LlmBreakerSettings = {
  name: 'llm',
  failMax: 2,
  openMs: 60_000,
  failWindowMs: 60_000,
  timeoutMs: 10_000,
  firstTokenMs: 10_000,
  idleMs: 10_000,
};

function gatewayFor(client: LlmClient, settings: Partial<LlmBreakerSettings> = {}) {
  const breaker = new CircuitBreaker(llmBreakerOptions({ ...SETTINGS, ...settings }));
  return { breaker, gateway: new LlmGateway(fx.track(client), breaker, { maxConcurrent: 4 }) };
}
const simClient = () => createLlmClient({ provider: 'sim', baseUrl: fx.sim.url });

/** Reads the stream to its end; the tokens seen before an error ride on the rejection. */
async function drain(parts: AsyncIterable<LlmStreamPart>): Promise<{ tokens: string[]; done: boolean }> {
  const tokens: string[] = [];
  try {
    for await (const part of parts) {
      if (part.type === 'token') tokens.push(part.text);
      else return { tokens, done: true };
    }
    return { tokens, done: false };
  } catch (err) {
    throw Object.assign(err as object, { tokensBefore: tokens });
  }
}

const outcomes = (b: CircuitBreaker) => {
  const t = b.stats().totals;
  return { successes: t.successes, failures: t.failures, ignored: t.ignored, timeouts: t.timeouts };
};

/** A raw SSE server: `write(res)` runs once per request; `closed` counts requests whose socket closed. */
async function rawSse(write: (res: ServerResponse, req: IncomingMessage) => void) {
  const timers = new Set<NodeJS.Timeout>();
  let closed = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    res.on('close', () => closed++);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      write(res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get closed() {
      return closed;
    },
    get requests() {
      return requests;
    },
    /** Sends `: keep-alive` comment lines every `ms` until the response closes. */
    pingEvery(res: ServerResponse, ms: number) {
      const timer = setInterval(() => res.write(': keep-alive\n\n'), ms);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
const chunk = (delta: Record<string, string>) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;

describe('the stream bounds come from the configuration', () => {
  test('llmBreakerOptions puts firstTokenMs / idleMs into streamTimeout', () => {
    const options = llmBreakerOptions({ ...SETTINGS, firstTokenMs: 1234, idleMs: 567 });
    assert.deepEqual(options.streamTimeout, { firstChunk: 1234, idle: 567 });
  });

  test('LLM_FIRST_TOKEN_TIMEOUT_MS / LLM_STREAM_IDLE_TIMEOUT_MS reach the model breakers (defaults 15000 / 10000)', () => {
    const set = llmBreakerSettings(
      loadConfig({ LLM_FIRST_TOKEN_TIMEOUT_MS: '4321', LLM_STREAM_IDLE_TIMEOUT_MS: '876' }),
    );
    assert.deepEqual(llmBreakerOptions(set).streamTimeout, { firstChunk: 4321, idle: 876 });
    assert.deepEqual(llmBreakerOptions(llmBreakerSettings(loadConfig({}))).streamTimeout, {
      firstChunk: 15_000,
      idle: 10_000,
    });
  });
});

describe('what the breaker records for a stream', () => {
  test('`done` is a success, recorded before the consumer sees it: stopping right after it changes nothing', async () => {
    const { breaker, gateway } = gatewayFor(simClient());
    let tokens = 0;
    for await (const part of gateway.stream(request)) {
      if (part.type === 'token') {
        tokens++;
        assert.equal(outcomes(breaker).successes, 0, 'no outcome while tokens flow');
        continue;
      }
      assert.ok(part.answer.text.length > 0);
      assert.deepEqual(outcomes(breaker), { successes: 1, failures: 0, ignored: 0, timeouts: 0 });
      break; // what the assistant does after `done`: it reads no further
    }
    assert.ok(tokens > 3, `${tokens} tokens`);
    assert.deepEqual(outcomes(breaker), { successes: 1, failures: 0, ignored: 0, timeouts: 0 });
    assert.equal(breaker.stats().totals.calls, 1);
  });

  test('no first token within firstTokenMs: TimeoutError from the first next(); failMax of them trip, then CircuitOpenError without an upstream call', async () => {
    // `slow`: the reply (headers and all) comes only after latency_ms.
    fx.sim.setMode({ mode: 'slow', latency_ms: 30_000 });
    const { breaker, gateway } = gatewayFor(simClient(), { firstTokenMs: 200 });
    for (let i = 0; i < SETTINGS.failMax; i++) {
      const parts = gateway.stream(request);
      await assert.rejects(parts.next(), TimeoutError);
    }
    assert.equal(breaker.state, 'open');
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 2, ignored: 0, timeouts: 2 });
    await until(() => fx.sim.stats().in_flight === 0, 'the timed-out calls to be aborted');
    const sent = fx.sim.stats().requests;
    let read = false;
    const rejected = gateway.stream({
      question: request.question,
      get passages() {
        read = true;
        return passages;
      },
    });
    await assert.rejects(rejected.next(), CircuitOpenError);
    assert.equal(fx.sim.stats().requests, sent, 'an open circuit sends nothing upstream');
    assert.equal(read, false, 'a rejected stream never reads the passages (no search)');
  });

  test('a gap over idleMs after some tokens (sim `stall`) is a failure, and closes the upstream socket', async () => {
    fx.sim.setMode({ mode: 'stall', latency_ms: 0 });
    const { breaker, gateway } = gatewayFor(simClient(), { idleMs: 200, failMax: 1 });
    await assert.rejects(drain(gateway.stream(request)), (err: Error & { tokensBefore: string[] }) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.tokensBefore.length, STALL_TOKENS);
      return true;
    });
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 1, ignored: 0, timeouts: 1 });
    assert.equal(breaker.state, 'open');
    await until(() => fx.sim.stats().in_flight === 0, 'the stalled call to be aborted');
  });

  test('the first token may take longer than idleMs (up to firstTokenMs), and the whole stream longer than timeoutMs', async () => {
    // The two mix-ups users of other stacks report: an idle timer that already runs before the first token
    // (killing slow starters), and a whole-call timeout that cuts off a stream which is still sending.
    fx.sim.setMode({ mode: 'slow', latency_ms: 1_000 });
    const { breaker, gateway } = gatewayFor(simClient(), {
      timeoutMs: 300,
      idleMs: 700,
      firstTokenMs: 10_000,
    });
    const { tokens, done } = await drain(gateway.stream(request));
    assert.equal(done, true);
    assert.ok(tokens.length > 3);
    assert.deepEqual(outcomes(breaker), { successes: 1, failures: 0, ignored: 0, timeouts: 0 });
  });

  test('a client stream that ends without `done` is an LlmResponseError failure, not a success', async () => {
    // A real sim client whose stream drops its final `done` (a client breaking the port's contract).
    const real = simClient();
    const cut: LlmClient = {
      provider: real.provider,
      model: real.model,
      complete: (req) => real.complete(req),
      async *stream(req) {
        for await (const part of real.stream!(req)) if (part.type === 'token') yield part;
      },
      close: () => real.close?.() ?? Promise.resolve(),
    };
    const { breaker, gateway } = gatewayFor(cut);
    await assert.rejects(drain(gateway.stream(request)), (err: Error & { tokensBefore: string[] }) => {
      assert.ok(err instanceof LlmResponseError, String(err));
      assert.ok(err.tokensBefore.length > 3);
      return true;
    });
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 1, ignored: 0, timeouts: 0 });
  });

  test('an upstream 4xx before the first token is neither (not the provider failing), an upstream 5xx a failure', async () => {
    const { breaker, gateway } = gatewayFor(simClient());
    fx.sim.setMode({ mode: 'error', status: 400 });
    await assert.rejects(
      gateway.stream(request).next(),
      (e: unknown) => (e as HttpStatusError).status === 400,
    );
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 0, ignored: 1, timeouts: 0 });
    fx.sim.setMode({ mode: 'error', status: 503 });
    await assert.rejects(gateway.stream(request).next(), HttpStatusError);
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 1, ignored: 1, timeouts: 0 });
  });

  test('a consumer that stops reading: neither outcome, the upstream socket closes', async () => {
    fx.sim.setMode({ mode: 'drip', latency_ms: 50 });
    const { breaker, gateway } = gatewayFor(simClient());
    const before = outcomes(breaker);
    for await (const part of gateway.stream(request)) {
      assert.equal(part.type, 'token');
      break;
    }
    await until(() => fx.sim.stats().in_flight === 0, 'the sim to see the client leave');
    assert.equal(fx.sim.stats().by_outcome.aborted, 1);
    assert.deepEqual(outcomes(breaker), { ...before, ignored: before.ignored + 1 });
    assert.equal(breaker.failCount, 0);
    assert.equal(breaker.state, 'closed');
  });

  test('an abandoned HALF-OPEN probe stream gives its slot back: the circuit stays half-open for the next probe', async () => {
    fx.sim.setMode({ mode: 'drip', latency_ms: 50 });
    const { breaker, gateway } = gatewayFor(simClient(), { openMs: 0 });
    breaker.open();
    assert.equal(breaker.state, 'half-open');
    const probe = gateway.stream(request);
    assert.equal((await probe.next()).value?.type, 'token');
    // The probe holds the only slot while it streams.
    await assert.rejects(gateway.stream(request).next(), CircuitOpenError);
    await probe.return(undefined);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.stats().halfOpen?.inFlight, 0);
    const { done } = await drain(gateway.stream(request));
    assert.equal(done, true);
    assert.equal(breaker.state, 'closed');
  });

  test("the caller's abort mid-stream: neither outcome, the abort reason, the upstream socket closes", async () => {
    fx.sim.setMode({ mode: 'stall', latency_ms: 0 });
    const { breaker, gateway } = gatewayFor(simClient(), { idleMs: 60_000 });
    const controller = new AbortController();
    const parts = gateway.stream(request, controller.signal);
    for (let i = 0; i < STALL_TOKENS; i++) assert.equal((await parts.next()).value?.type, 'token');
    const waiting = parts.next();
    controller.abort(new Error('client left'));
    await assert.rejects(waiting, /client left/);
    assert.deepEqual(outcomes(breaker), { successes: 0, failures: 0, ignored: 1, timeouts: 0 });
    await until(() => fx.sim.stats().in_flight === 0, 'the stalled call to be released');
  });
});

describe('bytes are not tokens: keep-alive traffic does not hold a stream open', () => {
  test('headers and a role-only prelude, then only keep-alive comments: a first-token timeout, the socket closed', async () => {
    const server = await rawSse((res, _req) => {
      res.write(chunk({ role: 'assistant' }));
      server.pingEvery(res, 20);
    });
    try {
      const { breaker, gateway } = gatewayFor(new OpenAiClient({ baseUrl: server.url, model: 'm' }), {
        firstTokenMs: 300,
        idleMs: 10_000,
      });
      await assert.rejects(gateway.stream(request).next(), TimeoutError);
      assert.deepEqual(outcomes(breaker), { successes: 0, failures: 1, ignored: 0, timeouts: 1 });
      await until(() => server.closed === 1, 'the upstream socket to close');
    } finally {
      await server.close();
    }
  });

  test('tokens, then only keep-alive comments: an idle timeout after the tokens, the socket closed', async () => {
    const server = await rawSse((res) => {
      res.write(chunk({ role: 'assistant' }) + chunk({ content: 'Hello' }) + chunk({ content: ' there' }));
      server.pingEvery(res, 20);
    });
    try {
      const { breaker, gateway } = gatewayFor(new OpenAiClient({ baseUrl: server.url, model: 'm' }), {
        idleMs: 300,
      });
      await assert.rejects(drain(gateway.stream(request)), (err: Error & { tokensBefore: string[] }) => {
        assert.ok(err instanceof TimeoutError, String(err));
        assert.deepEqual(err.tokensBefore, ['Hello', ' there']);
        return true;
      });
      assert.deepEqual(outcomes(breaker), { successes: 0, failures: 1, ignored: 0, timeouts: 1 });
      await until(() => server.closed === 1, 'the upstream socket to close');
    } finally {
      await server.close();
    }
  });
});
