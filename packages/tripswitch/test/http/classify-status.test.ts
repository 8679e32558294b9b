import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyResponse, classifyStatus, type FailureReason } from 'tripswitch/http';

const cases: Array<[status: number, failure: boolean, retryable: boolean, reason: FailureReason]> = [
  [200, false, false, 'ok'],
  [204, false, false, 'ok'],
  [301, false, false, 'ok'],
  [304, false, false, 'ok'],
  [400, false, false, 'client_error'],
  [401, false, false, 'client_error'],
  [403, false, false, 'client_error'],
  [404, false, false, 'client_error'],
  [408, true, true, 'request_timeout'],
  [409, false, false, 'client_error'],
  [422, false, false, 'client_error'],
  [429, true, true, 'rate_limited'],
  [500, true, true, 'server_error'],
  [501, true, false, 'server_error'],
  [502, true, true, 'server_error'],
  [503, true, true, 'server_error'],
  [504, true, true, 'server_error'],
  [505, true, false, 'server_error'],
];

describe('classifyStatus', () => {
  for (const [status, failure, retryable, reason] of cases) {
    test(`${status} → ${reason}, failure=${failure}, retryable=${retryable}`, () => {
      const c = classifyStatus(status);
      assert.deepEqual(
        { failure: c.failure, retryable: c.retryable, reason: c.reason },
        { failure, retryable, reason },
      );
      assert.equal(c.retryAfter, undefined);
    });
  }

  test('statuses outside 100-599 are unknown failures', () => {
    for (const status of [0, 99, 600, 200.5, Number.NaN]) {
      assert.deepEqual(
        classifyStatus(status),
        { failure: true, retryable: false, reason: 'unknown' },
        String(status),
      );
    }
  });

  test('429 carries the Retry-After hint in ms', () => {
    const c = classifyStatus(429, { 'Retry-After': '7' });
    assert.deepEqual(c, { failure: true, retryable: true, reason: 'rate_limited', retryAfter: 7000 });
  });

  test('503 and 408 carry Retry-After too; 2xx and 4xx client errors ignore it', () => {
    assert.equal(classifyStatus(503, { 'retry-after': '3' }).retryAfter, 3000);
    assert.equal(classifyStatus(408, new Headers({ 'retry-after': '1' })).retryAfter, 1000);
    assert.equal(classifyStatus(200, { 'retry-after': '3' }).retryAfter, undefined);
    assert.equal(classifyStatus(404, { 'retry-after': '3' }).retryAfter, undefined);
  });

  test('429 with OpenAI insufficient_quota body is quota_exhausted: a failure, not retryable', () => {
    const body = JSON.stringify({
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    });
    assert.deepEqual(classifyStatus(429, {}, body), {
      failure: true,
      retryable: false,
      reason: 'quota_exhausted',
    });
    // already-parsed bodies work too
    assert.equal(classifyStatus(429, undefined, JSON.parse(body)).reason, 'quota_exhausted');
  });

  test('429 whose message mentions billing or quota (no retry hint) is quota_exhausted', () => {
    assert.equal(
      classifyStatus(429, {}, '{"error":"Billing hard limit has been reached"}').reason,
      'quota_exhausted',
    );
    assert.equal(classifyStatus(429, {}, 'Monthly quota exhausted for this key').reason, 'quota_exhausted');
  });

  test('429 rate limits that heal stay rate_limited even when they say "quota"', () => {
    const perMinute =
      '{"error":{"code":429,"message":"Quota exceeded for requests per minute","status":"RESOURCE_EXHAUSTED"}}';
    assert.equal(classifyStatus(429, {}, perMinute).reason, 'rate_limited');
    assert.equal(classifyStatus(429, { 'retry-after': '2' }, 'quota exceeded').reason, 'rate_limited');
    const openaiRate =
      '{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}';
    assert.deepEqual(classifyStatus(429, { 'retry-after-ms': '1500' }, openaiRate), {
      failure: true,
      retryable: true,
      reason: 'rate_limited',
      retryAfter: 1500,
    });
  });

  test('402 Payment Required is quota_exhausted', () => {
    assert.deepEqual(classifyStatus(402), { failure: true, retryable: false, reason: 'quota_exhausted' });
  });

  test('HuggingFace 503 "currently loading" body → model_loading with estimated_time as the hint', () => {
    const body = '{"error":"Model mistralai/Mistral-7B is currently loading","estimated_time":20.5}';
    assert.deepEqual(classifyStatus(503, {}, body), {
      failure: true,
      retryable: true,
      reason: 'model_loading',
      retryAfter: 20_500,
    });
  });

  test('model_loading: a Retry-After header wins over estimated_time; message alone is enough', () => {
    const body = '{"error":"Model x is currently loading","estimated_time":20.5}';
    assert.equal(classifyStatus(503, { 'retry-after': '5' }, body).retryAfter, 5000);
    const noEta = classifyStatus(503, {}, '{"error":"Model x is currently loading"}');
    assert.equal(noEta.reason, 'model_loading');
    assert.equal(noEta.retryAfter, undefined);
  });

  test('a 503 with an unrelated or malformed body stays server_error', () => {
    assert.equal(classifyStatus(503, {}, '<html>Service Unavailable</html>').reason, 'server_error');
    assert.equal(classifyStatus(503, {}, '{"error":"Model x is currently loa').reason, 'server_error');
    assert.equal(
      classifyStatus(500, {}, '{"error":"x is currently loading","estimated_time":3}').reason,
      'server_error',
    );
  });

  test('classifyResponse reads status and headers of a fetch Response, synchronously', () => {
    const res = new Response('busy', { status: 429, headers: { 'Retry-After': '2' } });
    assert.deepEqual(classifyResponse(res), {
      failure: true,
      retryable: true,
      reason: 'rate_limited',
      retryAfter: 2000,
    });
    assert.equal(classifyResponse({ status: 204, headers: {} }).reason, 'ok');
    assert.equal(classifyResponse({ status: 502 }).failure, true);
  });
});
