// Issue 12, item 6 (DESIGN 2.3): classifyError knows the error shapes of the HTTP clients our users call
// providers with. Every row is an error thrown by the real client library against a loopback server:
// refused connection, timeout, 429 with Retry-After, 503, 404 (and quota exhaustion where the client
// keeps the body).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { InferenceClient } from '@huggingface/inference';
import axios from 'axios';
import got from 'got';
import ky from 'ky';
import nodeFetch from 'node-fetch';
import { ofetch } from 'ofetch';
import OpenAI from 'openai';
import { CircuitBreaker } from 'tripswitch';
import {
  classifyError,
  classifyResponse,
  type FailureReason,
  type HttpClassification,
  isHttpFailure,
  throwForStatus,
} from 'tripswitch/http';

type Case = 'refused' | 'timeout' | '429' | 'quota' | '503' | '404';

/**
 * Client timeouts: short for `/hang` (the server never answers), generous for everything else so that a
 * loaded machine never turns a 429 into a timeout. No test asserts how long anything took.
 */
const HANG_TIMEOUT_MS = 200;
const limit = (c: Case): number => (c === 'timeout' ? HANG_TIMEOUT_MS : 30_000);

let server: Server;
let base: string;
let refusedBase: string;

before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.includes('/hang')) return; // never answers: the client's timeout must fire
    if (url.includes('/429')) {
      json(
        429,
        { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after': '7' },
      );
    } else if (url.includes('/quota')) {
      json(429, {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      });
    } else if (url.includes('/loading')) {
      json(503, { error: 'Model m is currently loading', estimated_time: 20 });
    } else if (url.includes('/503')) {
      json(503, { error: 'Service Unavailable' });
    } else {
      json(404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port that was free a moment ago and has nothing listening: connection refused.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  refusedBase = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
  await new Promise((resolve) => gone.close(resolve));
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function urlFor(c: Case): string {
  if (c === 'refused') return `${refusedBase}/x`;
  return `${base}/${c === 'timeout' ? 'hang' : c}`;
}

async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  assert.fail('the client did not throw');
}

interface Expect {
  reason: FailureReason;
  failure: boolean;
  retryable?: boolean;
  retryAfter?: number;
}

const EXPECTED: Record<Case, Expect> = {
  refused: { reason: 'connection_refused', failure: true, retryable: true },
  timeout: { reason: 'timeout', failure: true, retryable: true },
  '429': { reason: 'rate_limited', failure: true, retryable: true, retryAfter: 7_000 },
  quota: { reason: 'quota_exhausted', failure: true, retryable: false },
  '503': { reason: 'server_error', failure: true, retryable: true },
  '404': { reason: 'client_error', failure: false, retryable: false },
};

function check(client: string, c: Case, got: HttpClassification, expected: Expect = EXPECTED[c]): void {
  const where = `${client} ${c}: ${JSON.stringify(got)}`;
  assert.equal(got.reason, expected.reason, where);
  assert.equal(got.failure, expected.failure, where);
  if (expected.retryable !== undefined) assert.equal(got.retryable, expected.retryable, where);
  if (expected.retryAfter !== undefined) assert.equal(got.retryAfter, expected.retryAfter, where);
}

/** Each client: how to make it throw for a case (clients that resolve on HTTP errors go through throwForStatus). */
const clients: Record<string, { cases: Case[]; call: (c: Case) => Promise<unknown> }> = {
  fetch: {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: async (c) => throwForStatus(await fetch(urlFor(c), { signal: AbortSignal.timeout(limit(c)) })),
  },
  axios: {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: (c) => axios.get(urlFor(c), { timeout: limit(c) }),
  },
  got: {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: (c) => got(urlFor(c), { timeout: { request: limit(c) }, retry: { limit: 0 } }),
  },
  // ky's HTTPError keeps the Response with its body unread: status and headers classify, the body does not.
  ky: {
    cases: ['refused', 'timeout', '429', '503', '404'],
    call: (c) => ky.get(urlFor(c), { timeout: limit(c), retry: 0 }),
  },
  ofetch: {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: (c) => ofetch(urlFor(c), { timeout: limit(c), retry: 0 }),
  },
  // node-fetch resolves on HTTP errors and turns a timed-out signal into a bare AbortError (see below).
  'node-fetch': {
    cases: ['refused', '429', 'quota', '503', '404'],
    call: async (c) => {
      const res = await nodeFetch(urlFor(c));
      return throwForStatus(res);
    },
  },
  openai: {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: (c) => {
      const root = urlFor(c).replace(/\/x$/, '');
      const client = new OpenAI({
        apiKey: 'sk-test',
        baseURL: `${root}/v1`,
        timeout: limit(c),
        maxRetries: 0,
      });
      return client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    },
  },
  // @huggingface/inference keeps status and body, not the headers: no Retry-After hint.
  '@huggingface/inference': {
    cases: ['refused', 'timeout', '429', 'quota', '503', '404'],
    call: (c) => {
      const client = new InferenceClient('hf_test', { endpointUrl: urlFor(c) });
      return client.textGeneration(
        { model: 'm', inputs: 'hi' },
        { signal: AbortSignal.timeout(limit(c)), retry_on_error: false },
      );
    },
  },
};

describe('classifyError on errors thrown by the real clients', () => {
  for (const [client, { cases, call }] of Object.entries(clients)) {
    for (const c of cases) {
      test(`${client}: ${c}`, async () => {
        const err = await thrown(() => call(c));
        const expected =
          client === '@huggingface/inference' && c === '429'
            ? { ...EXPECTED[c], retryAfter: undefined }
            : undefined;
        check(client, c, classifyError(err), expected);
        assert.equal(isHttpFailure(err), EXPECTED[c].failure);
      });
    }
  }

  test('@huggingface/inference: a loading model (503 + estimated_time) is model_loading with a 20 s hint', async () => {
    const client = new InferenceClient('hf_test', { endpointUrl: `${base}/loading` });
    const err = await thrown(() =>
      client.textGeneration({ model: 'm', inputs: 'hi' }, { retry_on_error: false }),
    );
    check('hf', '503', classifyError(err), { reason: 'model_loading', failure: true, retryAfter: 20_000 });
  });

  test('axios: a network error (ERR_NETWORK, no errno) is a network failure; a cancelled request is aborted', async () => {
    // What axios throws when the request never got a response and no socket code is known.
    const network = new axios.AxiosError('Network Error', axios.AxiosError.ERR_NETWORK);
    check('axios', 'refused', classifyError(network), { reason: 'network', failure: true, retryable: true });
    const controller = new AbortController();
    const pending = thrown(() => axios.get(urlFor('timeout'), { signal: controller.signal }));
    controller.abort();
    check('axios', 'timeout', classifyError(await pending), { reason: 'aborted', failure: false });
  });

  test('openai: the caller aborting is aborted, not a failure', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/hang/v1`, maxRetries: 0 });
    const controller = new AbortController();
    const pending = thrown(() =>
      client.chat.completions.create(
        { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        { signal: controller.signal },
      ),
    );
    setTimeout(() => controller.abort(), 20);
    check('openai', 'timeout', classifyError(await pending), { reason: 'aborted', failure: false });
  });

  test('node-fetch: a timed-out signal arrives as a bare AbortError (the reason is lost): aborted, not a failure', async () => {
    const err = await thrown(() =>
      nodeFetch(urlFor('timeout'), { signal: AbortSignal.timeout(HANG_TIMEOUT_MS) }),
    );
    check('node-fetch', 'timeout', classifyError(err), { reason: 'aborted', failure: false });
  });

  test('fetch and node-fetch responses classify without a throw (classifyResponse)', async () => {
    check('fetch', '503', classifyResponse(await fetch(urlFor('503'))));
    check('node-fetch', '429', classifyResponse((await nodeFetch(urlFor('429'))) as unknown as Response));
  });

  test('an unknown shape is unknown and not a failure', () => {
    for (const err of [
      new Error('something'),
      { weird: true },
      'text',
      42,
      null,
      undefined,
      { status: 'bad' },
    ]) {
      const c = classifyError(err);
      assert.equal(c.reason, 'unknown', String(err));
      assert.equal(c.failure, false);
    }
  });
});

describe('the breaker with include: [isHttpFailure] opens on real client errors', () => {
  for (const client of ['got', 'axios', 'ky', 'ofetch', 'openai', '@huggingface/inference']) {
    test(`${client}: 503s open the circuit, 404s never do`, async () => {
      const { call } = clients[client]!;
      const b = new CircuitBreaker({ failMax: 2, include: [isHttpFailure] });
      for (let i = 0; i < 3; i++) await b.execute(() => call('404')).catch(() => {});
      assert.equal(b.state, 'closed');
      for (let i = 0; i < 2; i++) await b.execute(() => call('503')).catch(() => {});
      assert.equal(b.state, 'open');
    });
  }
});
