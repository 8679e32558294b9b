// The LLM clients against the real simulated LLM (and, for garbage bodies and headers, a tiny raw
// node:http server) on 127.0.0.1: answers, error surfaces, aborts, connection failures, validation.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { classifyError, HttpStatusError, isHttpFailure } from 'tripswitch/http';
import {
  createLlmClient,
  HfInferenceClient,
  type LlmClient,
  type LlmProvider,
  LlmResponseError,
  OpenAiClient,
  type Passage,
} from '../../src/adapters/llm/index.js';
import { startSim } from '../../src/sim/server.js';
import { SAMPLE_PASSAGE, SAMPLE_QUESTION, until, useSimForClients } from '../helpers/llm-fixture.js';

const passages: Passage[] = [
  SAMPLE_PASSAGE,
  { documentId: 'd2', title: 'Talents', text: 'Each servant received talents to invest.', score: 1 },
];
const question = SAMPLE_QUESTION;

const fx = useSimForClients();
const track = <T extends LlmClient>(c: T): T => fx.track(c);
const ask = (c: LlmClient, signal = new AbortController().signal) =>
  c.complete({ question, passages, signal });

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e as Error,
  );
}

describe('answers from the sim', () => {
  test('sim provider (OpenAI format): answer cites the relevant passage, with usage', async () => {
    const client = track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }));
    assert.equal(client.provider, 'sim');
    assert.equal(client.model, 'tripswitch-sim-1');
    const answer = await ask(client);
    assert.match(
      answer.text,
      /^Based on “The Prodigal Son” \[1\]: .*His father ran to meet him when he returned\./,
    );
    assert.equal(answer.provider, 'sim');
    assert.equal(answer.model, 'tripswitch-sim-1');
    assert.equal(answer.finishReason, 'stop');
    assert.ok(
      answer.usage && answer.usage.totalTokens === answer.usage.promptTokens + answer.usage.completionTokens,
    );
    assert.deepEqual(await ask(client).then((a) => a.text), answer.text);
    assert.equal(fx.sim.stats().by_outcome.ok, 2);
  });

  test('openai provider with a /v1 base URL and maxTokens', async () => {
    const client = track(
      createLlmClient({ provider: 'openai', baseUrl: `${fx.sim.url}/v1`, model: 'gpt-x', maxTokens: 4 }),
    );
    const answer = await ask(client);
    assert.equal(answer.provider, 'openai');
    assert.equal(answer.model, 'gpt-x');
    assert.equal(answer.finishReason, 'length');
    assert.equal(answer.text.split(' ').length, 4);
  });

  test('hf-inference provider: classic /models/{model}, generated text only', async () => {
    const client = track(
      createLlmClient({ provider: 'hf-inference', baseUrl: fx.sim.url, model: 'org/model-7b' }),
    );
    const answer = await ask(client);
    assert.equal(answer.provider, 'hf-inference');
    assert.equal(answer.model, 'org/model-7b');
    assert.match(answer.text, /^Based on “The Prodigal Son”/);
    assert.equal(answer.usage, undefined);
  });
});

describe('error surfaces', () => {
  test('429 → HttpStatusError with status and Retry-After as retryAfter ms, an upstream failure', async () => {
    fx.sim.setMode({ mode: 'ratelimit', retry_after_s: 3 });
    const err = await rejection(ask(track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }))));
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfter, 3000);
    assert.equal(err.classification.reason, 'rate_limited');
    assert.ok(isHttpFailure(err));
  });

  test('HF model loading → 503 HttpStatusError with estimated_time as retryAfter', async () => {
    fx.sim.setMode({ mode: 'loading', retry_after_s: 12 });
    const err = await rejection(ask(track(new HfInferenceClient({ baseUrl: fx.sim.url, model: 'org/m' }))));
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, 12_000);
    assert.equal(err.classification.reason, 'model_loading');
  });

  test('5xx → HttpStatusError, a failure', async () => {
    fx.sim.setMode({ mode: 'error', status: 502 });
    const err = await rejection(ask(track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }))));
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 502);
    assert.ok(isHttpFailure(err));
  });

  test('abort cancels a hanging request promptly and the sim sees the client leave', async () => {
    fx.sim.setMode({ mode: 'hang' });
    const client = track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }));
    const controller = new AbortController();
    const pending = ask(client, controller.signal);
    await until(() => fx.sim.stats().by_outcome.hang === 1, 'the request to hang');
    const started = performance.now();
    controller.abort();
    const err = await rejection(pending);
    assert.ok(performance.now() - started < 2000, 'abort took too long');
    assert.equal(err.name, 'AbortError');
    assert.equal(classifyError(err).reason, 'aborted');
    await until(() => fx.sim.stats().in_flight === 0, 'the sim to release the request');
  });

  test("the abort's reason surfaces (e.g. a policy's timeout) and a pre-aborted call sends nothing", async () => {
    fx.sim.setMode({ mode: 'hang' });
    const client = track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }));
    const err = await rejection(ask(client, AbortSignal.timeout(50)));
    assert.equal(err.name, 'TimeoutError');
    assert.ok(isHttpFailure(err));
    const before = fx.sim.stats().requests;
    const aborted = new AbortController();
    aborted.abort();
    assert.equal((await rejection(ask(client, aborted.signal))).name, 'AbortError');
    assert.equal(fx.sim.stats().requests, before);
  });

  test('refuse → connection error classified as a failure', async () => {
    fx.sim.setMode({ mode: 'refuse' });
    const err = await rejection(ask(track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }))));
    assert.equal(classifyError(err).reason, 'connection_reset');
    assert.ok(isHttpFailure(err));
  });

  test('a closed port → ECONNREFUSED, a failure', async () => {
    const gone = await startSim();
    await gone.close();
    const err = await rejection(ask(track(createLlmClient({ provider: 'sim', baseUrl: gone.url }))));
    assert.equal(classifyError(err).reason, 'connection_refused');
  });
});

describe('against a raw server: headers, garbage bodies, secrets', () => {
  let server: Server;
  let base = '';
  let reply: { status: number; body: string } = { status: 200, body: '{}' };
  let seen: { url: string; headers: IncomingHttpHeaders; body: string } | undefined;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen = { url: req.url ?? '', headers: req.headers, body };
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const key = 'sk-secret-123';
  const okChat = JSON.stringify({
    model: 'served',
    choices: [{ message: { content: ' hi ' }, finish_reason: 'stop' }],
  });

  test('OpenAI request: path, bearer key, body fields', async () => {
    reply = { status: 200, body: okChat };
    const client = track(
      new OpenAiClient({ baseUrl: `${base}/v1/`, apiKey: key, model: 'm', temperature: 0.2 }),
    );
    const answer = await ask(client);
    assert.deepEqual(answer, { text: 'hi', model: 'served', provider: 'openai', finishReason: 'stop' });
    assert.equal(seen?.url, '/v1/chat/completions');
    assert.equal(seen?.headers.authorization, `Bearer ${key}`);
    const sent = JSON.parse(seen?.body ?? '{}');
    assert.equal(sent.model, 'm');
    assert.equal(sent.max_tokens, 512);
    assert.equal(sent.temperature, 0.2);
    assert.equal(sent.messages.length, 2);
  });

  test('a garbage 200 body full of emoji is kept as its first 512 code points, never half a pair', async () => {
    // 'x' first: 512 UTF-16 units would end inside the 256th emoji.
    reply = { status: 200, body: `x${'😀'.repeat(1000)}` };
    for (const client of [
      track(new OpenAiClient({ baseUrl: `${base}/v1`, model: 'm' })),
      track(new HfInferenceClient({ baseUrl: base, model: 'm' })),
    ]) {
      const err = await rejection(ask(client));
      assert.ok(err instanceof LlmResponseError, String(err));
      assert.equal(err.body, `x${'😀'.repeat(511)}`);
    }
  });

  test('HF request: encoded model path, parameters, no Authorization without a key', async () => {
    reply = { status: 200, body: JSON.stringify({ generated_text: 'solo object' }) };
    const client = track(new HfInferenceClient({ baseUrl: base, model: 'org/a b', maxTokens: 64 }));
    assert.equal((await ask(client)).text, 'solo object');
    assert.equal(seen?.url, '/models/org/a%20b');
    assert.equal(seen?.headers.authorization, undefined);
    const sent = JSON.parse(seen?.body ?? '{}');
    assert.deepEqual(sent.parameters, { max_new_tokens: 64, return_full_text: false });
    assert.match(sent.inputs, /Question: What did the father do/);
  });

  test('a malformed 200 is an LlmResponseError counted as an upstream failure', async () => {
    const client = track(new OpenAiClient({ baseUrl: base, model: 'm' }));
    const hf = track(new HfInferenceClient({ baseUrl: base, model: 'm' }));
    const garbage: [LlmClient, string, RegExp][] = [
      [client, 'not json at all', /not JSON/],
      [client, '{"choices":[]}', /no choices\[0\]/],
      [client, '{"choices":[{"message":{"content":"   "}}]}', /no text/],
      [client, '[1,2]', /no choices/],
      [hf, '[{"text":"x"}]', /no generated_text/],
    ];
    for (const [c, body, message] of garbage) {
      reply = { status: 200, body };
      const err = await rejection(ask(c));
      assert.ok(err instanceof LlmResponseError, body);
      assert.match(err.message, message);
      assert.equal(err.upstreamStatus, 200);
      assert.ok(isHttpFailure(err), `${body} should count as a failure`);
    }
  });

  test('a refusal is an answer flagged refused, not an error (OpenAI and HF shapes)', async () => {
    const openai = track(new OpenAiClient({ baseUrl: base, model: 'm' }));
    const hf = track(new HfInferenceClient({ baseUrl: base, model: 'm' }));
    const refusals: [LlmClient, unknown, RegExp][] = [
      // Azure/OpenAI content filter: no content at all.
      [
        openai,
        { choices: [{ message: { role: 'assistant', content: null }, finish_reason: 'content_filter' }] },
        /declined/,
      ],
      // A filter that cut a started answer: the partial text is not shown.
      [
        openai,
        { choices: [{ message: { content: 'Here is how' }, finish_reason: 'content_filter' }] },
        /declined/,
      ],
      // OpenAI's structured refusal message.
      [
        openai,
        {
          choices: [
            { message: { content: null, refusal: "I can't help with that." }, finish_reason: 'stop' },
          ],
        },
        /can't help/,
      ],
      [openai, { choices: [{ message: { content: '' }, finish_reason: 'refusal' }] }, /declined/],
      [hf, [{ generated_text: '', details: { finish_reason: 'content_filter' } }], /declined/],
      [hf, { generated_text: '', refusal: 'Not able to answer that.' }, /Not able/],
    ];
    for (const [c, body, text] of refusals) {
      reply = { status: 200, body: JSON.stringify(body) };
      const answer = await ask(c);
      assert.equal(answer.refused, true, JSON.stringify(body));
      assert.match(answer.text, text);
    }
    // An ordinary answer is not flagged.
    reply = { status: 200, body: okChat };
    assert.equal((await ask(openai)).refused, undefined);
  });

  test('the sim in filtered mode sends a content-filter refusal in both wire formats', async () => {
    fx.sim.setMode({ mode: 'filtered' });
    for (const c of [
      track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url })),
      track(new HfInferenceClient({ baseUrl: fx.sim.url, model: 'tripswitch-sim-1' })),
    ]) {
      const answer = await ask(c);
      assert.equal(answer.refused, true);
      assert.match(answer.text, /declined/);
    }
    assert.equal(fx.sim.stats().by_outcome.filtered, 2);
  });

  test('a redirect is not followed: it is an LlmResponseError', async () => {
    reply = { status: 307, body: '{}' };
    const err = await rejection(ask(track(new OpenAiClient({ baseUrl: base, apiKey: key, model: 'm' }))));
    assert.ok(err instanceof LlmResponseError);
    assert.equal(err.upstreamStatus, 307);
  });

  test('a success body above maxResponseBytes is refused', async () => {
    reply = { status: 200, body: JSON.stringify({ choices: [{ message: { content: 'x'.repeat(5000) } }] }) };
    const client = track(new OpenAiClient({ baseUrl: base, model: 'm', maxResponseBytes: 1000 }));
    const err = await rejection(ask(client));
    assert.ok(err instanceof LlmResponseError);
    assert.match(err.message, /exceeds 1000 bytes/);
  });

  test('the API key never shows on the client, nor in errors', async () => {
    reply = { status: 401, body: '{"error":{"message":"bad key"}}' };
    const client = track(new OpenAiClient({ baseUrl: base, apiKey: key, model: 'm' }));
    const err = await rejection(ask(client));
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 401);
    assert.equal(isHttpFailure(err), false);
    for (const shown of [inspect(client, { depth: 5 }), JSON.stringify(client), inspect(err, { depth: 5 })]) {
      assert.ok(!shown.includes(key), shown);
    }
  });
});

describe('configuration', () => {
  test('invalid options throw at construction, naming the option', () => {
    assert.throws(
      () => createLlmClient({ provider: 'bedrock' as unknown as LlmProvider }),
      /provider must be one of sim\|openai\|hf-inference/,
    );
    assert.throws(() => createLlmClient({ provider: 'openai' }), /model must be a non-empty string/);
    assert.throws(() => createLlmClient({ provider: 'hf-inference', model: '' }), TypeError);
    assert.throws(
      () => createLlmClient({ provider: 'sim', maxTokens: 0 }),
      /maxTokens must be an integer in \[1, /,
    );
    assert.throws(
      () => createLlmClient({ provider: 'sim', baseUrl: 'ftp://x' }),
      /baseUrl must use http: or https:/,
    );
    assert.throws(
      () => createLlmClient({ provider: 'sim', baseUrl: 'not a url' }),
      /baseUrl must be an absolute/,
    );
    assert.throws(
      () => createLlmClient({ provider: 'sim', temperature: 3 }),
      /temperature must be a number in \[0, 2\]/,
    );
    assert.throws(() => createLlmClient({ provider: 'sim', connections: 0 }), RangeError);
    assert.throws(() => createLlmClient({ provider: 'sim', maxResponseBytes: -1 }), /maxResponseBytes/);
  });

  test('sim base URL: root or /v1 both reach the sim', async () => {
    for (const baseUrl of [fx.sim.url, `${fx.sim.url}/`, `${fx.sim.url}/v1`]) {
      const answer = await ask(track(createLlmClient({ provider: 'sim', baseUrl })));
      assert.match(answer.text, /Prodigal/);
    }
  });
});
