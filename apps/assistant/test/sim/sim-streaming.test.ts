// The simulated LLM's streams (OpenAI SSE and HF text-generation events), the drip and stall modes, and
// per-model modes, over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPrompt } from '../../src/adapters/llm/prompt.js';
import { STALL_TOKENS } from '../../src/sim/modes.js';
import { type SimServer, startSim } from '../../src/sim/server.js';

let sim: SimServer;

const prompt = buildPrompt('What is grace?', [
  {
    documentId: 'd1',
    title: 'The Gift of Grace',
    text: 'Grace is a gift we cannot earn. Forgiveness heals the wounded heart. Mercy renews us each morning.',
    score: 2,
  },
]);

const chat = (model: string, stream: unknown) => ({
  model,
  stream,
  messages: prompt.messages,
});

interface Event {
  data: string;
  /** ms since the request was sent */
  at: number;
}

/** Reads a text/event-stream body event by event until it ends or `stopAfter` events arrived. */
async function readEvents(res: Response, started: number, stopAfter = Number.POSITIVE_INFINITY) {
  const events: Event[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (events.length < stopAfter) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      events.push({ data, at: performance.now() - started });
      cut = buffer.indexOf('\n\n');
    }
  }
  return { events, reader };
}

async function post(path: string, body: unknown, signal?: AbortSignal) {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  sim = await startSim();
});
after(() => sim.close());
beforeEach(() => {
  sim.setMode({ mode: 'healthy' });
  sim.resetStats();
});

describe('sim streaming', () => {
  test('OpenAI stream: role chunk, one chunk per token, finish_reason, [DONE]; tokens join to the answer', async () => {
    const whole = (await (await post('/v1/chat/completions', chat('m', false))).json()) as {
      choices: { message: { content: string } }[];
    };
    const expected = whole.choices[0]!.message.content;
    const res = await post('/v1/chat/completions', chat('m', true));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const { events } = await readEvents(res, performance.now());
    assert.equal(events.at(-1)?.data, '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    const texts = chunks.map((c) => c.choices[0].delta.content ?? '').filter((t: string) => t !== '');
    assert.ok(texts.length > 3, 'several tokens');
    assert.equal(texts.join(''), expected);
    assert.equal(sim.stats().streamed, 1);
    assert.equal(sim.stats().by_outcome.ok, 2);
  });

  test('HF stream: one event per token, the last carries generated_text and details', async () => {
    const body = { inputs: prompt.text, parameters: { return_full_text: false }, stream: true };
    const res = await post('/models/org/model', body);
    assert.equal(res.status, 200);
    const { events } = await readEvents(res, performance.now());
    const parsed = events.map((e) => JSON.parse(e.data));
    const text = parsed.map((p) => p.token.text).join('');
    assert.equal(parsed.at(-1).generated_text, text);
    assert.equal(parsed.at(-1).details.finish_reason, 'eos_token');
    assert.ok(parsed.slice(0, -1).every((p) => p.generated_text === null));
    assert.deepEqual(sim.stats().by_model, { 'org/model': 1 });
  });

  test('a non-boolean stream is a 400 in the provider format', async () => {
    const res = await post('/v1/chat/completions', chat('m', 'yes'));
    assert.equal(res.status, 400);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /stream must be a boolean/,
    );
  });

  test('an error mode answers a stream request with the plain JSON error, not a stream', async () => {
    sim.setMode({ mode: 'ratelimit', retry_after_s: 3 });
    const res = await post('/v1/chat/completions', chat('m', true));
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.match(res.headers.get('content-type') ?? '', /json/);
  });

  test('drip: tokens latency_ms apart (never sooner); a non-streamed drip answers after the whole time', async () => {
    sim.setMode({ mode: 'drip', latency_ms: 40 });
    const started = performance.now();
    const res = await post('/v1/chat/completions', chat('m', true));
    const { events } = await readEvents(res, started);
    const tokens = events.filter((e) => e.data !== '[DONE]' && JSON.parse(e.data).choices[0].delta.content);
    assert.ok(tokens.length >= 4);
    // Timers never fire early: each later token is at least one gap after the first (a lower bound only).
    const span = tokens.at(-1)!.at - tokens[0]!.at;
    assert.ok(span >= 40 * (tokens.length - 1) * 0.9, `span ${span} ms for ${tokens.length} tokens`);

    const t0 = performance.now();
    const plain = await post('/v1/chat/completions', chat('m', false));
    assert.equal(plain.status, 200);
    await plain.json();
    assert.ok(performance.now() - t0 >= 40 * (tokens.length - 1) * 0.9);
  });

  test(`stall: ${STALL_TOKENS} tokens, then silence with the socket open until the client leaves`, async () => {
    sim.setMode({ mode: 'stall', latency_ms: 5 });
    const controller = new AbortController();
    const res = await post('/v1/chat/completions', chat('m', true), controller.signal);
    const { events, reader } = await readEvents(res, performance.now(), 1 + STALL_TOKENS);
    assert.equal(events.length, 1 + STALL_TOKENS); // role chunk + three tokens
    await until(() => sim.stats().by_outcome.stalled === 1, 'the stall to be counted');
    // Nothing more arrives while the client waits.
    const next = await Promise.race([reader.read().then(() => 'data'), sleep(300).then(() => 'silence')]);
    assert.equal(next, 'silence');
    assert.equal(sim.stats().in_flight, 1);
    controller.abort();
    await until(() => sim.stats().in_flight === 0, 'the stalled request to be released');
  });

  test('stall without streaming hangs like hang', async () => {
    sim.setMode({ mode: 'stall' });
    await assert.rejects(
      post('/v1/chat/completions', chat('m', false), AbortSignal.timeout(200)),
      (err: Error) => err.name === 'TimeoutError',
    );
    assert.equal(sim.stats().by_outcome.hang, 1);
    await until(() => sim.stats().in_flight === 0, 'the hung request to be released');
  });
});

describe('sim per-model modes', () => {
  test('a mode with "model" changes only that model; a mode without clears every per-model mode', async () => {
    const set = await post('/_sim/mode', { mode: 'error', status: 502, model: 'primary' });
    assert.equal(set.status, 200);
    assert.equal(((await set.json()) as { model: string }).model, 'primary');
    assert.equal((await post('/v1/chat/completions', chat('primary', false))).status, 502);
    assert.equal((await post('/v1/chat/completions', chat('secondary', false))).status, 200);
    const view = (await (await fetch(`${sim.url}/_sim/mode`)).json()) as {
      mode: string;
      models: Record<string, { mode: string }>;
    };
    assert.equal(view.mode, 'healthy');
    assert.equal(view.models.primary?.mode, 'error');
    assert.deepEqual(sim.stats().by_model, { primary: 1, secondary: 1 });

    await post('/_sim/mode', { mode: 'healthy' });
    assert.equal((await post('/v1/chat/completions', chat('primary', false))).status, 200);
    const cleared = (await (await fetch(`${sim.url}/_sim/mode`)).json()) as { models?: unknown };
    assert.equal(cleared.models, undefined);
  });

  test('refuse for one model drops only its sockets', async () => {
    sim.setMode({ mode: 'refuse', model: 'down' });
    await assert.rejects(post('/v1/chat/completions', chat('down', false)));
    assert.equal((await post('/v1/chat/completions', chat('up', false))).status, 200);
    assert.equal(sim.stats().by_outcome.refused, 1);
  });

  test('a bad "model" is a 400 naming the field', async () => {
    for (const model of ['', 7, 'x'.repeat(201)]) {
      const res = await post('/_sim/mode', { mode: 'hang', model });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /model must be/);
    }
    assert.equal(sim.getMode().mode, 'healthy');
  });
});
