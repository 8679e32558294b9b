// Runs the real entry point in a child process, so tests can kill it the hard way and start another one on
// the same database file: `src/main.ts` through tsx (what `npm start` runs) or the compiled `dist/main.js`
// (what `npm run start:prod` runs after `npm run build`).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from './service.js';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(APP_DIR, 'src', 'main.ts');
export const COMPILED_MAIN = join(APP_DIR, 'dist', 'main.js');

const ENTRY_ARGS = {
  source: ['--conditions=tripswitch-source', '--import', 'tsx', MAIN],
  compiled: ['--enable-source-maps', COMPILED_MAIN],
} as const;

/** Everything `child` writes to stdout and stderr from now on, interleaved as it arrives (for failure messages). */
export function collectOutput(child: ChildProcess): () => string {
  let out = '';
  const add = (s: string) => {
    out += s;
  };
  child.stdout?.setEncoding('utf8').on('data', add);
  child.stderr?.setEncoding('utf8').on('data', add);
  return () => out;
}

export interface ChildService {
  baseUrl: string;
  child: ChildProcess;
  /** Everything the child wrote so far (for failure messages). */
  output(): string;
  /** Sends `signal` and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts the service with TEST_ENV plus `env` on a free port and resolves once it prints its URL (from
 * source, start-up compiles the TypeScript, which takes many seconds on a loaded machine). `nodeArgs` go
 * before the entry's own (e.g. another `--import`). */
export async function spawnService(
  env: Record<string, string>,
  timeoutMs = 60_000,
  entry: keyof typeof ENTRY_ARGS = 'source',
  nodeArgs: readonly string[] = [],
): Promise<ChildService> {
  const child = spawn(process.execPath, [...nodeArgs, ...ENTRY_ARGS[entry]], {
    cwd: APP_DIR,
    env: { ...process.env, ...TEST_ENV, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = once(child, 'exit');
  exited.catch(() => {}); // a spawn error surfaces through the start-up promise below

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output());
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`service exited early (code ${code}, signal ${signal}):\n${output()}`));
    });
  });

  return {
    baseUrl,
    child,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
