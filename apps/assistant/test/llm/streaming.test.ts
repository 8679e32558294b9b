// Streaming through the LLM clients (OpenAI SSE and HF text-generation events) against the real sim and,
// for broken streams, a raw node:http server on 127.0.0.1: tokens, ends, errors, bounds and aborts that
// reach the upstream socket.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { HttpStatusError } from 'tripswitch/http';
import { MAX_EVENT_CHARS } from '../../src/adapters/llm/http.js';
import {
  createLlmClient,
  HfInferenceClient,
  type LlmClient,
  LlmResponseError,
  type LlmStreamPart,
  OpenAiClient,
  type Passage,
} from '../../src/adapters/llm/index.js';
import { STALL_TOKENS } from '../../src/sim/modes.js';
import { SAMPLE_PASSAGE, SAMPLE_QUESTION, until, useSimForClients } from '../helpers/llm-fixture.js';

const passages: Passage[] = [SAMPLE_PASSAGE];
const question = SAMPLE_QUESTION;

const fx = useSimForClients();
const track = <T extends LlmClient>(c: T): T => fx.track(c);

async function collect(
  iter: AsyncIterable<LlmStreamPart>,
): Promise<{ tokens: string[]; done?: LlmStreamPart }> {
  const tokens: string[] = [];
  let done: LlmStreamPart | undefined;
  for await (const part of iter) {
    if (part.type === 'token') tokens.push(part.text);
    else done = part;
  }
  return done ? { tokens, done } : { tokens };
}

const streamOf = (c: LlmClient, signal = new AbortController().signal) => {
  assert.ok(c.stream, `${c.provider} client streams`);
  return c.stream({ question, passages, signal });
};

/** A raw server that answers every POST with `write(res)`, for stream shapes the sim never sends. */
async function rawServer(write: (res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => write(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

describe('streamed answers from the sim', () => {
  for (const provider of ['sim', 'hf-inference'] as const) {
    test(`${provider}: tokens arrive one by one and join to the non-streamed answer`, async () => {
      const client = track(
        provider === 'sim'
          ? createLlmClient({ provider, baseUrl: fx.sim.url })
          : new HfInferenceClient({ baseUrl: fx.sim.url, model: 'org/model' }),
      );
      const whole = await client.complete({ question, passages, signal: new AbortController().signal });
      const { tokens, done } = await collect(streamOf(client));
      assert.ok(tokens.length > 5, `${tokens.length} tokens`);
      assert.equal(tokens.join(''), whole.text);
      assert.ok(done?.type === 'done');
      assert.equal(done.answer.text, whole.text);
      assert.equal(done.answer.finishReason, 'stop');
      assert.equal(fx.sim.stats().streamed, 1);
    });
  }

  test('a 503 before the first token throws the HTTP error from the first next()', async () => {
    fx.sim.setMode({ mode: 'error', status: 503 });
    const client = track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }));
    await assert.rejects(
      collect(streamOf(client)),
      (err: unknown) => err instanceof HttpStatusError && err.status === 503,
    );
  });

  test('leaving the loop after the first token closes the upstream socket', async () => {
    fx.sim.setMode({ mode: 'drip', latency_ms: 50 });
    const client = track(createLlmClient({ provider: 'sim', baseUrl: fx.sim.url }));
    for await (const part of streamOf(client)) {
      assert.equal(part.type, 'token');
      break;
    }
    await until(() => fx.sim.stats().in_flight === 0, 'the sim to see the client leave');
    assert.equal(fx.sim.stats().by_outcome.aborted, 1);
  });

  test('aborting the signal during a stall rejects the iterator and frees the upstream socket', async () => {
    fx.sim.setMode({ mode: 'stall' });
    const client = track(new OpenAiClient({ baseUrl: `${fx.sim.url}/v1`, model: 'm' }));
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const part of streamOf(client, controller.signal)) {
        if (part.type === 'token') seen.push(part.text);
      }
    })();
    await until(() => seen.length === STALL_TOKENS, 'the tokens before the stall');
    controller.abort();
    await assert.rejects(run, (err: Error) => err.name === 'AbortError');
    await until(() => fx.sim.stats().in_flight === 0, 'the stalled request to be released');
  });
});

describe('broken streams are upstream failures (LlmResponseError, a 502 to the classifier)', () => {
  const chunk = (content: string, finish: string | null = null) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
  const cases: [string, (res: ServerResponse) => void, RegExp][] = [
    [
      'ends before [DONE] or a finish_reason',
      (res) => {
        sse(res);
        res.end(chunk('Hello'));
      },
      /ended before the model finished/,
    ],
    [
      'an error event mid-stream',
      (res) => {
        sse(res);
        res.write(chunk('Hello'));
        res.end(`data: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`);
      },
      /error event/,
    ],
    [
      'a chunk that is not JSON',
      (res) => {
        sse(res);
        res.end('data: <html>\n\n');
      },
      /not a JSON object/,
    ],
    [
      `an event longer than ${MAX_EVENT_CHARS} characters`,
      (res) => {
        sse(res);
        res.end(`data: ${'x'.repeat(MAX_EVENT_CHARS + 10)}`);
      },
      /malformed/,
    ],
    [
      'a stream past maxResponseBytes',
      (res) => {
        sse(res);
        for (let i = 0; i < 200; i++) res.write(chunk('word '));
        res.end();
      },
      /exceeds 4096 bytes/,
    ],
  ];
  for (const [name, write, message] of cases) {
    test(name, async () => {
      const server = await rawServer(write);
      const client = track(
        new OpenAiClient({
          baseUrl: server.url,
          model: 'm',
          maxResponseBytes: name.includes('maxResponseBytes') ? 4096 : 1024 * 1024,
        }),
      );
      try {
        await assert.rejects(
          collect(streamOf(client)),
          (err: unknown) => err instanceof LlmResponseError && message.test(err.message),
        );
      } finally {
        await server.close();
      }
    });
  }

  test('an HF stream that ends without its final event fails', async () => {
    const server = await rawServer((res) => {
      sse(res);
      res.end(
        `data: ${JSON.stringify({ token: { id: 0, text: 'Hi', special: false }, generated_text: null })}\n\n`,
      );
    });
    const client = track(new HfInferenceClient({ baseUrl: server.url, model: 'm' }));
    try {
      await assert.rejects(collect(streamOf(client)), /ended before its final event/);
    } finally {
      await server.close();
    }
  });

  test('a plain JSON completion to a stream request is one token, then done', async () => {
    const server = await rawServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          model: 'm',
          choices: [{ message: { content: 'Whole answer.' }, finish_reason: 'stop' }],
        }),
      );
    });
    const client = track(new OpenAiClient({ baseUrl: server.url, model: 'm' }));
    try {
      const { tokens, done } = await collect(streamOf(client));
      assert.deepEqual(tokens, ['Whole answer.']);
      assert.equal(done?.type === 'done' && done.answer.text, 'Whole answer.');
    } finally {
      await server.close();
    }
  });
});

describe('streamed refusals are answers, not faults', () => {
  for (const provider of ['sim', 'hf-inference'] as const) {
    test(`${provider}: a content-filter stream ends in a refused done with no tokens`, async () => {
      fx.sim.setMode({ mode: 'filtered' });
      const client = track(
        provider === 'sim'
          ? createLlmClient({ provider, baseUrl: fx.sim.url })
          : new HfInferenceClient({ baseUrl: fx.sim.url, model: 'org/model' }),
      );
      const { tokens, done } = await collect(streamOf(client));
      assert.deepEqual(tokens, []);
      assert.ok(done?.type === 'done');
      assert.equal(done.answer.refused, true);
      assert.ok(done.answer.text.length > 0);
    });
  }

  test('an OpenAI refusal streamed in delta.refusal is the answer text', async () => {
    const server = await rawServer((res) => {
      sse(res);
      const c = (delta: Record<string, string>, finish: string | null) =>
        `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.end(
        `${c({ refusal: "I can't help" }, null)}${c({ refusal: ' with that.' }, 'stop')}data: [DONE]\n\n`,
      );
    });
    const client = track(new OpenAiClient({ baseUrl: server.url, model: 'm' }));
    try {
      const { tokens, done } = await collect(streamOf(client));
      assert.deepEqual(tokens, []);
      assert.ok(done?.type === 'done');
      assert.equal(done.answer.refused, true);
      assert.equal(done.answer.text, "I can't help with that.");
    } finally {
      await server.close();
    }
  });
});
