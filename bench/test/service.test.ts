import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMarkdown, runServiceBench } from '../service/main.js';

// A one-second pass of `npm run bench:service` against the real service and a real bare Fastify child:
// proves the harness runs on a fresh clone and that every path answers what its row claims (a ratio of the
// wrong answer's speed would be meaningless). No timing is asserted.
test('bench:service drives every path against the real service and the bare floor', async () => {
  const results = await runServiceBench({ seconds: 1, rounds: 1, connections: 4 });
  assert.deepEqual(
    results.map((r) => r.id),
    ['cache_hit', 'model_answer', 'excerpts_open', 'unavailable_open', 'unauthorized'],
  );
  for (const r of results) {
    const run = r.rounds[0];
    assert.ok(run, r.id);
    assert.ok(run.service.requests > 0 && run.bare.requests > 0, `${r.id}: both sides served requests`);
    assert.ok(
      r.valid,
      `${r.id}: expected status share ${run.service.expectedShare} (${JSON.stringify(run.service.statuses)})`,
    );
    assert.ok(Number.isFinite(r.throughputRatio.median) && r.throughputRatio.median > 0, r.id);
    assert.ok(Number.isFinite(r.service.cpuMsPerRequest), `${r.id}: CPU per request read from /proc`);
  }
  const md = renderMarkdown(results, 'test');
  assert.match(md, /bare Fastify JSON route/);
  assert.match(md, /excerpts, circuit open/);
});
