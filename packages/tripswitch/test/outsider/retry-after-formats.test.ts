// Outsider probes: Retry-After values in odd formats. Verified correct; pinned.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfterValue } from 'tripswitch/http';

const now = Date.parse('2026-11-30T18:00:00Z');

test('Retry-After: delta-seconds, past and future HTTP-dates, and junk', () => {
  assert.equal(parseRetryAfterValue('  5  ', now), 5000);
  assert.equal(parseRetryAfterValue('0', now), 0);
  assert.equal(parseRetryAfterValue('Wed, 21 Oct 2015 07:28:00 GMT', now), 0, 'a past date means now');
  assert.equal(parseRetryAfterValue('Tue, 01 Dec 2026 18:00:00 GMT', now), 86_400_000);
  for (const junk of ['-5', '1e3', '0x10', 'Infinity', 'NaN', '120, 60', '5.', '.5', '1,5', '', 'soon']) {
    assert.equal(parseRetryAfterValue(junk, now), undefined, JSON.stringify(junk));
  }
});
