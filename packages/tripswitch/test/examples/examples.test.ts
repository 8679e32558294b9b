// The README's examples are these files; running them here keeps the README honest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpStatusError } from 'tripswitch/http';
import { main as fallbackExample } from '../../examples/fallback.js';
import { main as manualExample } from '../../examples/manual-state.js';
import { main as pipelineExample } from '../../examples/pipeline.js';
import { main as protectExample } from '../../examples/protect.js';

test('protect(): three failures trip the breaker, the rest are rejected without calling the model', async () => {
  let calls = 0;
  const out = await protectExample(async () => {
    calls++;
    throw new Error('HF 500');
  });
  assert.deepEqual(out, [
    'failed: HF 500',
    'failed: HF 500',
    'failed: HF 500',
    'rejected (open)',
    'rejected (open)',
    'state: open',
  ]);
  assert.equal(calls, 3);
});

test('manual state management follows pybreaker semantics', async () => {
  assert.deepEqual(await manualExample(), [
    'after one failure: closed, failCount 1',
    'after a success: failCount 0',
    'after two failures: open',
    'after close(): closed',
    'successes recorded: 2',
    'isolated: isolated, retryAfter Infinity',
    'reset: closed',
  ]);
});

test('fallback on CircuitOpenError: cached answer, then a retry hint', async () => {
  const out = await fallbackExample(async () => {
    throw new HttpStatusError(503, { body: 'down' });
  });
  assert.equal(out[0], 'Grace is a gift, not a wage. (cached)');
  assert.equal(out[1], 'Grace is a gift, not a wage. (cached)');
  assert.match(out[2]!, /^AI service temporarily unavailable; retry in \d+ s$/);
});

test('pipeline: the breaker trips on HTTP failures and the fallback answers', async () => {
  let calls = 0;
  const out = await pipelineExample(async () => {
    calls++;
    throw new HttpStatusError(502, {});
  });
  assert.equal(out[0], 'degraded answer (HttpStatusError)');
  assert.equal(out[2], 'degraded answer (CircuitOpenError)');
  assert.equal(out[3], 'breaker: open');
  assert.equal(calls, 2, 'failMax 2: the retry stops once the circuit opens');
});
