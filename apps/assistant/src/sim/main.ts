// Runs the simulated LLM on its own: `npm run sim` (repository root) or `npm run sim -w apps/assistant` (SIM_PORT, default 8001).
import { startSim } from './server.js';

const raw = process.env.SIM_PORT ?? '8001';
const port = Number(raw);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`SIM_PORT must be an integer in [0, 65535], got "${raw}"`);
  process.exit(1);
}

const sim = await startSim({ port });
console.log(`simulated LLM listening on ${sim.url}`);
console.log(`  OpenAI base URL: ${sim.url}/v1   faults: POST ${sim.url}/_sim/mode {"mode":"hang"}`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down the simulated LLM`);
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
