import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts a private `redis-server` for tests: loopback only, a free port, no persistence, its own temp dir.
 * The machine's own Redis (6379) is never touched. It can be killed with SIGKILL and restarted on the same
 * port to simulate an outage.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** True while the process is running. */
  readonly running: boolean;
  /** SIGKILL the server (no shutdown, no save) and wait for the process to exit. */
  kill(): Promise<void>;
  /** Start it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Stop for good and remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

let availability: boolean | undefined;

/** Whether `redis-server` can be run here. */
export function redisServerAvailable(): boolean {
  if (availability === undefined) {
    const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
    availability = probe.error === undefined && probe.status === 0;
  }
  return availability;
}

/**
 * The `skip` value for a suite that needs redis-server: false when it is available; otherwise a reason
 * (after a loud notice). Under CI=true a missing redis-server throws instead: CI must not pass silently.
 */
export function skipWithoutRedis(): false | string {
  if (redisServerAvailable()) return false;
  const reason = 'redis-server is not on PATH: Redis integration tests NOT RUN';
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  console.error(`\n${'!'.repeat(78)}\n!!! ${reason}\n${'!'.repeat(78)}\n`);
  return reason;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  // Never leave a server behind if a test file dies early.
  for (const child of live) child.kill('SIGKILL');
});

function launch(port: number, dir: string, extra: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not become ready:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited early (${code ?? signal}):\n${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Start a private redis-server. Throws if it cannot be started (check `skipWithoutRedis()` first).
 * `extra` arguments go to redis-server as they are (e.g. `--cluster-enabled yes`).
 */
export async function startRedisServer(extra: readonly string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tripswitch-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = await launch(port, dir, extra);
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      if (child === null) return;
      const current = child;
      child = null;
      current.kill('SIGKILL');
      await exited(current);
    },
    async restart() {
      if (stopped) throw new Error('redis-server was stopped');
      if (child !== null) {
        const current = child;
        child = null;
        current.kill('SIGKILL');
        await exited(current);
      }
      child = await launch(port, dir, extra);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child !== null) {
        const current = child;
        child = null;
        current.kill('SIGTERM');
        await exited(current);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
