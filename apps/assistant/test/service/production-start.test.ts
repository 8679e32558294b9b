// The production start (`npm run start:prod`): the compiled JavaScript in dist/, no tsx, and the library
// resolved the way a consumer resolves it (tripswitch's dist/, no source condition). `npm test` builds first.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSim } from '../../src/sim/server.js';
import { type ChildService, COMPILED_MAIN, spawnService } from '../helpers/child-service.js';
import { DEMO_TOKEN, send } from '../helpers/service.js';

test('the compiled service starts with plain node, serves the dashboard and answers through the breaker', async (t) => {
  assert.ok(existsSync(COMPILED_MAIN), `${COMPILED_MAIN} is missing: run \`npm run build\` first`);
  const sim = await startSim({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'assistant-prod-'));
  let service: ChildService | undefined;
  t.after(async () => {
    await service?.stop('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  service = await spawnService(
    { LLM_PROVIDER: 'sim', LLM_BASE_URL: sim.url, DATABASE_PATH: join(dir, 'assistant.db') },
    60_000,
    'compiled',
  );
  const output = service.output;
  // Nothing in the process came from TypeScript sources: no tsx loader, no .ts module.
  assert.doesNotMatch(readFileSync(`/proc/${service.child.pid}/cmdline`, 'utf8'), /tsx|\.ts\b/);

  const page = await send(`${service.baseUrl}/dashboard`, 'GET');
  assert.equal(page.status, 200, `${page.text}\n${output()}`);
  assert.match(page.text, /<html/i);

  const answer = await send(`${service.baseUrl}/api/assistant/query`, 'POST', {
    token: DEMO_TOKEN,
    body: { query: 'What does forgiveness ask of us?', include_metadata: true },
  });
  assert.equal(answer.status, 200, output());
  assert.equal(typeof answer.json.answer, 'string', JSON.stringify(answer.json));
  assert.equal(answer.json.metadata.from_fallback, false, JSON.stringify(answer.json));

  const health = await send(`${service.baseUrl}/health/circuit-breakers`, 'GET');
  assert.equal(health.json.llm.state, 'closed', output());
});
