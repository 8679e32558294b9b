import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  classifyError,
  type FailureReason,
  HttpStatusError,
  isHttpFailure,
  isRetryable,
} from 'tripswitch/http';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from '../../src/core/errors.js';

function codeError(code: string): Error {
  return Object.assign(new Error(`${code} from the socket`), { code });
}

/** fetch wraps socket errors: TypeError('fetch failed', { cause }) */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

const codes: Array<[code: string, reason: FailureReason, retryable: boolean]> = [
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout', true],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout', true],
  ['UND_ERR_BODY_TIMEOUT', 'timeout', true],
  ['ETIMEDOUT', 'timeout', true],
  ['UND_ERR_SOCKET', 'connection_reset', true],
  ['ECONNREFUSED', 'connection_refused', true],
  ['ECONNRESET', 'connection_reset', true],
  ['EPIPE', 'connection_reset', true],
  ['ENOTFOUND', 'dns', false],
  ['EAI_AGAIN', 'dns', true],
  ['EHOSTUNREACH', 'network', true],
  ['ENETUNREACH', 'network', true],
];

describe('classifyError: error codes', () => {
  for (const [code, reason, retryable] of codes) {
    test(`${code} → ${reason} (direct and nested in fetch's cause)`, () => {
      for (const err of [
        codeError(code),
        fetchFailed(codeError(code)),
        fetchFailed(new Error('x', { cause: codeError(code) })),
      ]) {
        const c = classifyError(err);
        assert.equal(c.reason, reason);
        assert.equal(c.failure, true);
        assert.equal(c.retryable, retryable);
        assert.equal(isHttpFailure(err), true);
        assert.equal(isRetryable(err), retryable);
      }
    });
  }

  test('AggregateError of connection attempts (happy eyeballs) is searched', () => {
    const agg = new AggregateError([codeError('ECONNREFUSED'), codeError('ECONNREFUSED')], 'connect failed');
    assert.equal(classifyError(fetchFailed(agg)).reason, 'connection_refused');
  });

  test('a bare "fetch failed" is a network failure; other TypeErrors are not', () => {
    assert.deepEqual(classifyError(new TypeError('fetch failed')), {
      failure: true,
      retryable: true,
      reason: 'network',
    });
    assert.equal(isHttpFailure(new TypeError('Failed to parse URL from nope')), false);
  });

  test('a cycle of causes terminates', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    assert.equal(classifyError(a).reason, 'unknown');
  });
});

describe('classifyError: timeouts, aborts, status errors, others', () => {
  test("our TimeoutError and AbortSignal.timeout's DOMException are retryable timeouts", async () => {
    assert.deepEqual(classifyError(new TimeoutError(100)), {
      failure: true,
      retryable: true,
      reason: 'timeout',
    });
    const signal = AbortSignal.timeout(1);
    await new Promise((r) => signal.addEventListener('abort', r));
    assert.equal(classifyError(signal.reason).reason, 'timeout');
    assert.equal(isHttpFailure(signal.reason), true);
  });

  test('an AbortError (the caller gave up) is not a failure', () => {
    const controller = new AbortController();
    controller.abort();
    assert.deepEqual(classifyError(controller.signal.reason), {
      failure: false,
      retryable: false,
      reason: 'aborted',
    });
  });

  test('HttpStatusError keeps its classification, also when wrapped', () => {
    const err = new HttpStatusError(503, { headers: { 'retry-after': '2' } });
    assert.equal(classifyError(err), err.classification);
    assert.equal(classifyError(new RetryBudgetExhaustedError(err)).reason, 'server_error');
    assert.equal(isHttpFailure(new HttpStatusError(404)), false);
    assert.equal(isHttpFailure(new HttpStatusError(429)), true);
    assert.equal(isRetryable(new HttpStatusError(400)), false);
  });

  test('errors of other clients that carry a status (OpenAI SDK, axios) are classified by it', () => {
    const sdk = Object.assign(new Error('429 quota'), {
      status: 429,
      headers: {},
      error: { type: 'insufficient_quota', message: 'You exceeded your current quota' },
    });
    assert.equal(classifyError(sdk).reason, 'quota_exhausted');
    const axiosLike = Object.assign(new Error('Request failed'), {
      response: { status: 502, headers: { 'retry-after': '1' } },
    });
    assert.deepEqual(classifyError(axiosLike), {
      failure: true,
      retryable: true,
      reason: 'server_error',
      retryAfter: 1000,
    });
    assert.equal(classifyError(Object.assign(new Error('bad'), { statusCode: 422 })).reason, 'client_error');
  });

  test('policy rejections, plain errors and non-errors are unknown and not failures', () => {
    for (const err of [
      new CircuitOpenError('b', 'open', 100),
      new BulkheadRejectedError(1, 0),
      new Error('bug'),
      new SyntaxError('Unexpected token'),
      'a string',
      null,
      undefined,
      42,
    ]) {
      assert.deepEqual(
        classifyError(err),
        { failure: false, retryable: false, reason: 'unknown' },
        String(err),
      );
    }
  });
});

describe('classifyError on real fetch failures against 127.0.0.1', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/reset') req.socket.destroy();
      // '/hang' never answers
      else if (req.url !== '/hang') res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('a refused connection is connection_refused', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await fetch(`http://127.0.0.1:${port}/`).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.equal(classifyError(err).reason, 'connection_refused');
    assert.equal(isHttpFailure(err), true);
  });

  test('a socket closed by the server is connection_reset', async () => {
    const err = await fetch(`${base}/reset`).then(
      () => assert.fail('expected a socket error'),
      (e: unknown) => e,
    );
    assert.equal(classifyError(err).reason, 'connection_reset');
  });

  test('AbortSignal.timeout on a hanging server is a timeout; a manual abort is not a failure', async () => {
    const timedOut = await fetch(`${base}/hang`, { signal: AbortSignal.timeout(50) }).then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e,
    );
    assert.equal(classifyError(timedOut).reason, 'timeout');
    const controller = new AbortController();
    const pending = fetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const aborted = await pending.then(
      () => assert.fail('expected an abort'),
      (e: unknown) => e,
    );
    assert.equal(classifyError(aborted).reason, 'aborted');
    assert.equal(isHttpFailure(aborted), false);
  });

  test('a breaker-style TimeoutError abort reason surfaces as a timeout failure', async () => {
    const controller = new AbortController();
    const pending = fetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(new TimeoutError(20)), 20);
    const err = await pending.then(
      () => assert.fail('expected an abort'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError);
    assert.equal(isHttpFailure(err), true);
  });
});
