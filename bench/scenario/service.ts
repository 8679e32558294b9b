/**
 * One variant of the AssistantService, run as its own process so event-loop delay and memory are its own.
 * `PROTECTION=none|opossum|cockatiel|tripswitch` picks the layer around the model client; everything else
 * is the stock `createApp` configured from the environment (DESIGN.md 3.1 variables). Prints one line
 * `SCENARIO_READY {"url": ...}` once listening; SIGTERM closes it gracefully.
 */
import { createLlmClient } from '../../apps/assistant/src/adapters/llm/index.js';
import { createApp } from '../../apps/assistant/src/app.js';
import { loadConfig } from '../../apps/assistant/src/config.js';
import { READY_PREFIX } from './child.js';
import { isProtection, PROTECTIONS } from './params.js';
import { Recorder } from './recorder.js';
import { portFactory } from './variants.js';

async function main(): Promise<void> {
  const protection = process.env.PROTECTION ?? 'tripswitch';
  if (!isProtection(protection)) {
    throw new RangeError(`PROTECTION must be one of ${PROTECTIONS.join('|')}, got "${protection}"`);
  }
  const config = loadConfig(process.env);
  if (config.llm.baseUrl === undefined) throw new TypeError('LLM_BASE_URL must point at the simulated LLM');
  const recorder = new Recorder();
  const client = recorder.countingClient(
    createLlmClient({ provider: config.llm.provider, baseUrl: config.llm.baseUrl, model: config.llm.model }),
  );
  const factory = portFactory(protection);
  const app = await createApp(config, {
    llmClient: client,
    ...(factory ? { modelPort: factory } : {}),
    plugins: [recorder.plugin()],
  });
  recorder.start(() => app.gateway.breakerState());
  const url = await app.server.listen({ port: config.port, host: config.host });
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ url, protection, pid: process.pid })}\n`);

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    recorder.stop();
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
