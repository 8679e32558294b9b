// The simulated LLM over real HTTP on 127.0.0.1: formats, every fault mode, control API and stats.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { buildPrompt } from '../../src/adapters/llm/prompt.js';
import { NO_CONTEXT_ANSWER } from '../../src/sim/answer.js';
import { type SimServer, startSim } from '../../src/sim/server.js';

const passages = [
  {
    documentId: 'd1',
    title: 'The Gift of Grace',
    text: 'Grace is a gift we cannot earn. Forgiveness heals the wounded heart. Bread feeds the body.',
    score: 2,
  },
  { documentId: 'd2', title: 'Hope in Winter', text: 'Hope endures through the long winter.', score: 1 },
];

let sim: SimServer;
const agent = new Agent({ connections: 16 });

async function send(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON replies
  return { status: res.status, headers: res.headers, json: json as any, text };
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'test-model',
  messages: [
    { role: 'system', content: 'be nice' },
    { role: 'user', content },
  ],
  ...extra,
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  sim = await startSim();
});
after(async () => {
  await sim.close();
  await agent.close();
});
beforeEach(async () => {
  sim.setMode({ mode: 'healthy' });
  sim.resetStats();
});

describe('formats', () => {
  test('OpenAI chat completion: full shape, answer quotes the relevant sentence and cites its title', async () => {
    const prompt = buildPrompt('What heals the wounded heart?', passages);
    const { status, json } = await send('/v1/chat/completions', { model: 'm-1', messages: prompt.messages });
    assert.equal(status, 200);
    assert.equal(json.object, 'chat.completion');
    assert.equal(json.model, 'm-1');
    assert.equal(typeof json.id, 'string');
    assert.equal(typeof json.created, 'number');
    assert.equal(json.choices.length, 1);
    const choice = json.choices[0];
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.finish_reason, 'stop');
    assert.match(
      choice.message.content,
      /^Based on “The Gift of Grace” \[1\]: Forgiveness heals the wounded heart\./,
    );
    assert.doesNotMatch(choice.message.content, /Bread/);
    assert.equal(json.usage.total_tokens, json.usage.prompt_tokens + json.usage.completion_tokens);
    assert.ok(json.usage.completion_tokens > 0);
  });

  test('same input gives the same answer', async () => {
    const body = { model: 'm', messages: buildPrompt('Does hope endure in winter?', passages).messages };
    const a = await send('/v1/chat/completions', body);
    const b = await send('/v1/chat/completions', body);
    assert.equal(a.json.choices[0].message.content, b.json.choices[0].message.content);
    assert.match(a.json.choices[0].message.content, /“Hope in Winter” \[2\]: Hope endures/);
  });

  test('no context gives the fixed polite answer', async () => {
    const { json } = await send('/v1/chat/completions', {
      model: 'm',
      messages: buildPrompt('Anything?', []).messages,
    });
    assert.equal(json.choices[0].message.content, NO_CONTEXT_ANSWER);
  });

  test('max_tokens cuts the answer and reports finish_reason length', async () => {
    const messages = buildPrompt('What heals the wounded heart?', passages).messages;
    const { json } = await send('/v1/chat/completions', { model: 'm', messages, max_tokens: 3 });
    assert.equal(json.choices[0].finish_reason, 'length');
    assert.equal(json.choices[0].message.content.split(' ').length, 3);
  });

  test('HF text generation on /models/:model and on /', async () => {
    const prompt = buildPrompt('What heals the wounded heart?', passages);
    const named = await send('/models/org/some-model', {
      inputs: prompt.text,
      parameters: { return_full_text: false },
    });
    assert.equal(named.status, 200);
    assert.ok(Array.isArray(named.json));
    assert.match(named.json[0].generated_text, /^Based on “The Gift of Grace”/);
    // HF's default return_full_text is true: the prompt comes back first.
    const root = await send('/', { inputs: prompt.text });
    assert.equal(root.status, 200);
    assert.ok(root.json[0].generated_text.startsWith(prompt.text));
    assert.ok(root.json[0].generated_text.endsWith(named.json[0].generated_text));
  });

  test('GET /v1/models lists the model', async () => {
    const { status, json } = await send('/v1/models');
    assert.equal(status, 200);
    assert.equal(json.object, 'list');
    assert.equal(json.data[0].id, 'tripswitch-sim-1');
  });

  test('malformed requests get 400 in the provider shape and count as bad_request', async () => {
    const noMessages = await send('/v1/chat/completions', { model: 'm' });
    assert.equal(noMessages.status, 400);
    assert.match(noMessages.json.error.message, /messages/);
    const notJson = await send('/v1/chat/completions', '{oops');
    assert.equal(notJson.status, 400);
    const hf = await send('/models/x', { inputs: 42 });
    assert.equal(hf.status, 400);
    assert.match(hf.json.error, /inputs/);
    assert.equal(sim.stats().by_outcome.bad_request, 3);
  });

  test('unknown paths 404, wrong methods 405', async () => {
    assert.equal((await send('/nope')).status, 404);
    const wrong = await send('/v1/chat/completions');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal((await send('/_sim/stats', {})).status, 405);
  });
});

describe('control API', () => {
  test('POST /_sim/mode returns the effective config with defaults; GET reads it back', async () => {
    const set = await send('/_sim/mode', { mode: 'slow' });
    assert.equal(set.status, 200);
    assert.equal(set.json.mode, 'slow');
    assert.equal(set.json.latency_ms, 2000);
    const got = await send('/_sim/mode');
    assert.deepEqual(got.json, set.json);
    // Each POST replaces the whole config: latency goes back to its default.
    const next = await send('/_sim/mode', { mode: 'error', status: 502 });
    assert.equal(next.json.latency_ms, 0);
    assert.equal(next.json.status, 502);
  });

  test('invalid mode bodies are 400 with a readable message and leave the mode alone', async () => {
    const cases: [unknown, RegExp][] = [
      [{ mode: 'broken' }, /mode must be one of healthy\|slow\|hang/],
      [{ mode: 'slow', latency_ms: -1 }, /latency_ms must be a number in \[0, 600000\]/],
      [{ mode: 'error', status: 200 }, /status must be an integer in \[400, 599\]/],
      [{ mode: 'flaky', error_rate: 1.5 }, /error_rate/],
      [{ mode: 'ratelimit', retry_after_s: 'soon' }, /retry_after_s/],
      [{ mode: 'healthy', latency: 5 }, /unknown field "latency"/],
      [[1, 2], /JSON object/],
      ['not json', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await send('/_sim/mode', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.json.error, message);
    }
    assert.equal(sim.getMode().mode, 'healthy');
  });

  test('setMode validates the same way in code', () => {
    assert.throws(() => sim.setMode({ mode: 'flaky', error_rate: -0.1 }), RangeError);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input
    assert.throws(() => sim.setMode({ mode: 'nap' } as any), TypeError);
  });

  test('stats count model requests only, by mode and outcome; reset clears them', async () => {
    const messages = buildPrompt('q', passages).messages;
    await send('/v1/chat/completions', { model: 'm', messages });
    await send('/_sim/mode', { mode: 'error' });
    await send('/v1/chat/completions', { model: 'm', messages });
    await send('/models/x', { inputs: 'hi' });
    await send('/_sim/stats');
    await send('/v1/models');
    const { json } = await send('/_sim/stats');
    assert.equal(json.requests, 3);
    assert.equal(json.by_mode.healthy, 1);
    assert.equal(json.by_mode.error, 2);
    assert.equal(json.by_outcome.ok, 1);
    assert.equal(json.by_outcome.error, 2);
    assert.equal(json.in_flight, 0);
    assert.equal(json.mode, 'error');
    const reset = await send('/_sim/reset', {});
    assert.equal(reset.status, 200);
    assert.equal(reset.json.requests, 0);
    assert.equal(reset.json.by_outcome.error, 0);
  });
});

describe('fault modes', () => {
  const body = () => chat('Question: anything');

  test('error: default 500, custom status, OpenAI-style body', async () => {
    sim.setMode({ mode: 'error' });
    const a = await send('/v1/chat/completions', body());
    assert.equal(a.status, 500);
    assert.equal(a.json.error.type, 'server_error');
    sim.setMode({ mode: 'error', status: 502 });
    assert.equal((await send('/v1/chat/completions', body())).status, 502);
    const hf = await send('/models/x', { inputs: 'hi' });
    assert.equal(hf.status, 502);
    assert.equal(typeof hf.json.error, 'string');
  });

  test('ratelimit: 429 with Retry-After and an OpenAI-style error', async () => {
    sim.setMode({ mode: 'ratelimit', retry_after_s: 7 });
    const res = await send('/v1/chat/completions', body());
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.equal(res.json.error.code, 'rate_limit_exceeded');
    sim.setMode({ mode: 'ratelimit' });
    assert.equal((await send('/v1/chat/completions', body())).headers.get('retry-after'), '5');
    assert.equal(sim.stats().by_outcome.ratelimited, 2);
  });

  test('loading: 503 with the HF body naming the model and estimated_time', async () => {
    sim.setMode({ mode: 'loading', retry_after_s: 12 });
    const res = await send('/models/org/big-model', { inputs: 'hi' });
    assert.equal(res.status, 503);
    assert.deepEqual(res.json, { error: 'Model org/big-model is currently loading', estimated_time: 12 });
    sim.setMode({ mode: 'loading' });
    assert.equal((await send('/v1/chat/completions', body())).json.estimated_time, 20);
    assert.equal(sim.stats().by_outcome.loading, 2);
  });

  test('slow: answers after latency_ms and is in flight meanwhile', async () => {
    sim.setMode({ mode: 'slow', latency_ms: 300 });
    const started = performance.now();
    const pending = send('/v1/chat/completions', body());
    await until(() => sim.stats().in_flight === 1, 'the slow request to be in flight');
    assert.equal(sim.stats().by_outcome.ok, 0);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.ok(performance.now() - started >= 250, 'answered before its latency');
    assert.equal(sim.stats().by_outcome.ok, 1);
    await until(() => sim.stats().in_flight === 0, 'in_flight back to 0');
  });

  test('hang: never answers; the request ends when the client aborts', async () => {
    sim.setMode({ mode: 'hang' });
    const controller = new AbortController();
    const pending = fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(body()),
      signal: controller.signal,
      dispatcher: agent,
    });
    await until(() => sim.stats().by_outcome.hang === 1, 'the request to hang');
    await sleep(100);
    assert.equal(sim.stats().in_flight, 1);
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await until(() => sim.stats().in_flight === 0, 'the hung request to be released');
  });

  test('refuse: the socket is dropped without a response; the control API still works', async () => {
    sim.setMode({ mode: 'refuse' });
    const err = await send('/v1/chat/completions', body()).then(
      () => assert.fail('expected a connection error'),
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    assert.equal(err.message, 'fetch failed');
    assert.ok(['UND_ERR_SOCKET', 'ECONNRESET'].includes(err.cause?.code ?? ''), String(err.cause?.code));
    assert.equal(sim.stats().by_outcome.refused, 1);
    assert.equal((await send('/_sim/mode', { mode: 'healthy' })).status, 200);
    assert.equal((await send('/v1/chat/completions', body())).status, 200);
  });

  test('flaky: fails about error_rate of requests, the same ones for the same seed', async () => {
    const run = async () => {
      sim.setMode({ mode: 'flaky', error_rate: 0.3, seed: 7 });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await send('/v1/chat/completions', body())).status);
      return statuses;
    };
    const first = await run();
    const failures = first.filter((s) => s !== 200);
    assert.ok(
      failures.every((s) => s === 503),
      'flaky fails with 503 by default',
    );
    assert.ok(failures.length >= 40 && failures.length <= 80, `failed ${failures.length} of 200`);
    assert.deepEqual(await run(), first);
    sim.setMode({ mode: 'flaky', error_rate: 1, status: 500 });
    assert.equal((await send('/v1/chat/completions', body())).status, 500);
    sim.setMode({ mode: 'flaky', error_rate: 0 });
    assert.equal((await send('/v1/chat/completions', body())).status, 200);
  });
});

describe('lifecycle and limits', () => {
  test('bodies above maxBodyBytes get 413', async () => {
    const small = await startSim({ maxBodyBytes: 1024 });
    try {
      const res = await fetch(`${small.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chat('x'.repeat(4096))),
      });
      assert.equal(res.status, 413);
      await res.body?.cancel();
      assert.equal(small.stats().by_outcome.bad_request, 1);
    } finally {
      await small.close();
    }
  });

  test('close() ends hanging requests and stops listening', async () => {
    const own = await startSim({ mode: { mode: 'hang' } });
    const pending = fetch(`${own.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chat('x')),
    });
    await until(() => own.stats().in_flight === 1, 'the request to hang');
    await own.close();
    await assert.rejects(pending, /fetch failed/);
    await assert.rejects(fetch(`${own.url}/v1/models`), (e: Error & { cause?: { code?: string } }) => {
      assert.equal(e.cause?.code, 'ECONNREFUSED');
      return true;
    });
  });

  test('invalid options throw at start', async () => {
    await assert.rejects(startSim({ port: 70000 }), RangeError);
    await assert.rejects(startSim({ maxBodyBytes: 0 }), /maxBodyBytes must be a positive integer/);
    await assert.rejects(startSim({ mode: { mode: 'slow', latency_ms: Number.NaN } }), RangeError);
  });
});
