/** Starts one service variant (./service.ts) as a child process and talks to its `/_bench/*` routes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Protection } from './params.js';
import type { ServiceStats, ServiceTimeline } from './recorder.js';

export const READY_PREFIX = 'SCENARIO_READY ';
const SERVICE_ENTRY = fileURLToPath(new URL('./service.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface ServiceProcess {
  readonly url: string;
  readonly pid: number;
  stats(reset: boolean): Promise<ServiceStats>;
  timeline(): Promise<ServiceTimeline>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * GET and parse. A 503 is the service's load shedder (@fastify/under-pressure) refusing while its event loop
 * lags — e.g. just after start-up on a loaded machine — so it is retried for a few seconds.
 */
async function getJson<T>(url: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url);
    if (res.ok) return (await res.json()) as T;
    await res.body?.cancel();
    if (res.status !== 503 || attempt >= 20) throw new Error(`GET ${url} answered ${res.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves once the child prints its ready line; rejects with its stderr tail if it exits first. */
export async function startService(
  protection: Protection,
  env: Record<string, string>,
  startTimeoutMs = 60_000,
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=tripswitch-source', '--import', 'tsx', SERVICE_ENTRY],
    {
      cwd: BENCH_DIR,
      env: { ...process.env, ...env, PROTECTION: protection },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4_000);
  });

  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${protection} service did not start within ${startTimeoutMs} ms\n${stderrTail}`));
    }, startTimeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${protection} service exited (${code}) before it was ready\n${stderrTail}`));
    };
    child.once('exit', onExit);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line === undefined) {
        buffered = buffered.slice(-8_000);
        return;
      }
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume(); // keep draining (warnings) so the child never blocks on a full pipe
      resolve(JSON.parse(line.slice(READY_PREFIX.length)) as { url: string; pid: number });
    });
  });

  return {
    url: ready.url,
    pid: ready.pid,
    stats: (reset) => getJson<ServiceStats>(`${ready.url}/_bench/stats${reset ? '?reset=1' : ''}`),
    timeline: () => getJson<ServiceTimeline>(`${ready.url}/_bench/timeline`),
    async stop(graceMs = 10_000) {
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
