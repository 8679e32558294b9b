import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getHeader, headerRecord, parseRetryAfter } from 'tripswitch/http';

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  test('delay-seconds, including 0 and fractions', () => {
    assert.equal(parseRetryAfter({ 'retry-after': '120' }, now), 120_000);
    assert.equal(parseRetryAfter({ 'retry-after': ' 0 ' }, now), 0);
    assert.equal(parseRetryAfter({ 'retry-after': '1.5' }, now), 1500);
  });

  test('HTTP-date relative to now; a past date means 0', () => {
    const in30s = new Date(now + 30_000).toUTCString();
    assert.equal(parseRetryAfter({ 'Retry-After': in30s }, now), 30_000);
    assert.equal(parseRetryAfter({ 'Retry-After': new Date(now - 5000).toUTCString() }, now), 0);
  });

  test('retry-after-ms wins over Retry-After', () => {
    assert.equal(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now), 250);
    // malformed retry-after-ms falls back to Retry-After
    assert.equal(parseRetryAfter({ 'retry-after-ms': 'soon', 'retry-after': '9' }, now), 9000);
  });

  test('garbage and absent headers give undefined', () => {
    for (const value of ['', 'soon', '-5', '120abc', 'NaN']) {
      assert.equal(parseRetryAfter({ 'retry-after': value }, now), undefined, value);
    }
    assert.equal(parseRetryAfter({}, now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test('x-ratelimit-reset-* durations count only for an exhausted limit', () => {
    assert.equal(
      parseRetryAfter({ 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-remaining-requests': '0' }, now),
      360_000,
    );
    assert.equal(parseRetryAfter({ 'x-ratelimit-reset-tokens': '1.5s' }, now), 1500);
    assert.equal(parseRetryAfter({ 'x-ratelimit-reset-tokens': '20ms' }, now), 20);
    assert.equal(
      parseRetryAfter({ 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-remaining-requests': '10' }, now),
      undefined,
    );
    assert.equal(
      parseRetryAfter({ 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-reset-tokens': '1m2s' }, now),
      62_000,
    );
    assert.equal(parseRetryAfter({ 'x-ratelimit-reset-requests': 'whenever' }, now), undefined);
  });

  test('reads fetch Headers, Maps and node header objects (arrays joined)', () => {
    assert.equal(parseRetryAfter(new Headers({ 'Retry-After': '4' }), now), 4000);
    assert.equal(parseRetryAfter(new Map([['retry-after', '4']]), now), 4000);
    assert.equal(getHeader({ 'X-Thing': ['a', 'b'] }, 'x-thing'), 'a, b');
  });
});

describe('headerRecord', () => {
  test('copies Headers, Maps and objects to lower-cased plain records', () => {
    assert.deepEqual(headerRecord(new Headers({ 'Retry-After': '1', 'X-A': 'b' })), {
      'retry-after': '1',
      'x-a': 'b',
    });
    assert.deepEqual(headerRecord(new Map([['X-A', 'b']])), { 'x-a': 'b' });
    assert.deepEqual(headerRecord({ 'Content-Length': 3, 'X-Skip': undefined }), { 'content-length': '3' });
    assert.deepEqual(headerRecord({ get: (n: string) => (n === 'retry-after' ? '2' : null) }), {
      'retry-after': '2',
    });
  });
});
