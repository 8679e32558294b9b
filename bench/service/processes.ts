/**
 * The two processes `npm run bench:service` compares: the AssistantService exactly as `npm start` runs it
 * (embedded SQLite in a temp dir, in-memory breaker and cache, the embedded sim) and the bare Fastify
 * floor (./bare.ts). Each is a child process so its CPU time can be read from /proc on its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICE_ENTRY = join(ROOT, 'apps/assistant/src/main.ts');
const BARE_ENTRY = fileURLToPath(new URL('./bare.ts', import.meta.url));
/** The same loader flags as the root `npm start` (`exec node … apps/assistant/src/main.ts`). */
const NODE_FLAGS = ['--conditions=tripswitch-source', '--import', 'tsx'];

export const ADMIN_TOKEN = 'bench-admin-token';

export interface Child {
  readonly url: string;
  readonly pid: number;
  /** CPU seconds (user + system) the process has used so far, read from /proc/<pid>/stat. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ: 100 on every Linux ABI Node runs on). */
const USER_HZ = 100;

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / USER_HZ;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function track(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stderr?.on('data', keep);
  return () => tail;
}

async function stopChild(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Polls `url` until it answers 200 (the child is listening and ready) or the child exits. */
async function waitReady(url: string, child: ChildProcess, stderr: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode})\n${stderr()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`child not ready at ${url} within ${timeoutMs} ms\n${stderr()}`);
}

/**
 * The service as `npm start` runs it, with a fresh SQLite file in a temp dir. `env` adds to the caller's
 * environment (the bench raises the rate limit so the load generator's single address is not throttled).
 */
export interface ServiceChild extends Child {
  /** The embedded simulated LLM (`POST /_sim/mode` switches its faults). */
  readonly simUrl: string;
}

export async function startService(env: Record<string, string>, timeoutMs = 90_000): Promise<ServiceChild> {
  const dir = mkdtempSync(join(tmpdir(), 'tripswitch-bench-service-'));
  const port = await freePort();
  const simPort = await freePort();
  // BENCH_SERVICE_PROFILE=<dir>: the service child writes a V8 CPU profile there when it stops.
  const profileDir = process.env.BENCH_SERVICE_PROFILE;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, ...NODE_FLAGS, SERVICE_ENTRY], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      SIM_PORT: String(simPort),
      DATABASE_PATH: join(dir, 'assistant.db'),
      ADMIN_TOKEN,
      ...env,
    },
    // The service logs as `npm start` does; the bench discards it (the cost of writing stays measured).
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = track(child);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/health/ready`, child, stderr, timeoutMs);
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    cpuSeconds: () => cpuSecondsOf(pid),
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
    simUrl: `http://127.0.0.1:${simPort}`,
  };
}

export async function startBare(timeoutMs = 60_000): Promise<Child> {
  const child = spawn(process.execPath, [...NODE_FLAGS, BARE_ENTRY], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = track(child);
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bare Fastify did not start within ${timeoutMs} ms\n${stderr()}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare Fastify exited (${code})\n${stderr()}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith('BARE_READY '));
      if (line === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve(JSON.parse(line.slice('BARE_READY '.length)) as { url: string; pid: number });
    });
  });
  return {
    url: ready.url,
    pid: ready.pid,
    cpuSeconds: () => cpuSecondsOf(ready.pid),
    stop: () => stopChild(child),
  };
}
