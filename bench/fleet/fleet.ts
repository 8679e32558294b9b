/**
 * Fleet simulation (issue 19): many RedisStore instances (own connections, spread over several processes)
 * × many keyed breakers against one private redis-server. Per size it reports Redis commands per second
 * at idle and under a failure storm (INFO commandstats, which counts the commands scripts run too), the
 * pub/sub subscriptions the fleet holds, how long a trip takes to reach every other instance (p50/p99 over
 * every instance of every trip), and Redis memory per breaker.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../packages/tripswitch/test/helpers/redis-server.js';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';

export interface FleetSize {
  readonly instances: number;
  readonly breakers: number;
}

export interface FleetOptions {
  readonly processes: number;
  readonly refreshInterval: number;
  /** Length of the idle and storm measurement windows (ms). */
  readonly windowMs: number;
  /** Trips sampled for propagation. */
  readonly trips: number;
  readonly log: (line: string) => void;
}

export interface FleetResult extends FleetSize {
  readonly processes: number;
  readonly idleCommandsPerSecond: number;
  /** The top commands at idle, e.g. "hmget 20.0/s". */
  readonly idleTop: string;
  readonly stormCommandsPerSecond: number;
  readonly stormBreakers: number;
  readonly subscriptions: number;
  readonly channels: number;
  readonly tripP50: number;
  readonly tripP99: number;
  readonly tripSamples: number;
  readonly missedTrips: number;
  readonly redisBytesPerBreaker: number;
  readonly setupSeconds: number;
  readonly workerRssMb: number;
  readonly degraded: number;
  readonly gaps: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Worker {
  readonly ready: Promise<FromWorker & { type: 'ready' }>;
  private readonly waiting = new Map<string, (m: FromWorker) => void>();
  constructor(
    readonly child: ChildProcess,
    onMessage: (m: FromWorker) => void,
  ) {
    this.ready = this.next('ready') as Promise<FromWorker & { type: 'ready' }>;
    child.on('message', (m: FromWorker) => {
      const waiter = this.waiting.get(m.type);
      if (waiter !== undefined) {
        this.waiting.delete(m.type);
        waiter(m);
      }
      onMessage(m);
    });
  }
  next(type: FromWorker['type']): Promise<FromWorker> {
    return new Promise((resolve) => this.waiting.set(type, resolve));
  }
  send(message: ToWorker): void {
    this.child.send(message);
  }
}

/** Sum of calls per command from INFO commandstats (our own INFO/CONFIG calls left out). */
async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info' || m[1]!.startsWith('config')) continue;
    calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

async function commandsDuring(admin: Redis, ms: number): Promise<{ perSecond: number; top: string }> {
  await admin.config('RESETSTAT');
  const t0 = performance.now();
  await sleep(ms);
  const calls = await commandCalls(admin);
  const seconds = (performance.now() - t0) / 1000;
  const total = [...calls.values()].reduce((a, b) => a + b, 0);
  const top = [...calls.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name, n]) => `${name} ${(n / seconds).toFixed(1)}/s`)
    .join(', ');
  return { perSecond: total / seconds, top };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export async function runFleet(size: FleetSize, o: FleetOptions): Promise<FleetResult> {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const prefix = 'fleet';
  const processes = Math.min(o.processes, size.instances);
  const workers: Worker[] = [];
  const seen: { name: string; instance: number; at: number }[] = [];
  const tripped = new Map<string, number>();
  try {
    const setup0 = performance.now();
    const memory0 = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    let first = 0;
    for (let p = 0; p < processes; p++) {
      const count = Math.floor(size.instances / processes) + (p < size.instances % processes ? 1 : 0);
      const config: WorkerConfig = {
        url: server.url,
        prefix,
        instances: count,
        firstInstance: first,
        breakers: size.breakers,
        refreshInterval: o.refreshInterval,
        openDuration: 1_000, // storm breakers cycle: trip, probe, fail, re-open
      };
      first += count;
      const child = fork(join(here, 'worker.ts'), [JSON.stringify(config)], {
        execArgv: ['--conditions=tripswitch-source', '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(
        new Worker(child, (m) => {
          if (m.type === 'seen') seen.push(m);
          else if (m.type === 'tripped') tripped.set(m.name, m.at);
        }),
      );
    }
    const readies = await Promise.all(workers.map((w) => w.ready));
    const setupSeconds = (performance.now() - setup0) / 1000;
    const workerRssMb = readies.reduce((n, r) => n + r.rss, 0) / 2 ** 20 / processes;
    o.log(`  fleet ${size.instances}×${size.breakers}: ready in ${setupSeconds.toFixed(1)} s`);

    // Idle: let every store settle past its first backstop ticks, then count.
    await sleep(o.refreshInterval * 1.5);
    const idle = await commandsDuring(admin, o.windowMs);
    const shard = (await admin.call('PUBSUB', 'SHARDNUMSUB', `{${prefix}}:events`)) as [string, number];
    const classic = (await admin.call('PUBSUB', 'NUMSUB', `{${prefix}}:events`)) as [string, number];
    const subscriptions = Number(shard[1]) + Number(classic[1]);
    const channels =
      ((await admin.call('PUBSUB', 'SHARDCHANNELS')) as string[]).length +
      ((await admin.call('PUBSUB', 'CHANNELS')) as string[]).length;

    // Trip propagation: instance 0 trips one breaker at a time; every other instance reports when it saw it.
    const names = Array.from({ length: o.trips }, (_, t) => `model:k${(t * 7) % size.breakers}`);
    const indexes = Array.from({ length: o.trips }, (_, t) => (t * 7) % size.breakers);
    for (const w of workers) w.send({ cmd: 'watch', names });
    await sleep(100);
    for (const index of indexes) {
      workers[0]!.send({ cmd: 'trip', index });
      await sleep(Math.max(50, o.refreshInterval / 10));
    }
    await sleep(1_000);
    const delays: number[] = [];
    let missedTrips = 0;
    for (const name of new Set(names)) {
      const t0 = tripped.get(name);
      const others = seen.filter((s) => s.name === name && s.instance !== 0);
      if (t0 === undefined) continue;
      missedTrips += size.instances - 1 - others.length;
      for (const s of others) delays.push(s.at - t0);
    }
    delays.sort((a, b) => a - b);
    for (const w of workers) w.send({ cmd: 'watch', names: [] });
    workers[0]!.send({ cmd: 'close', indexes });
    await sleep(500);

    // Failure storm: every instance calls a failing provider through 10% of its breakers, 20 calls/s each.
    const stormBreakers = Math.max(1, Math.floor(size.breakers / 10));
    for (const w of workers) w.send({ cmd: 'storm-start', count: stormBreakers, rate: 20 });
    await sleep(500);
    const storm = await commandsDuring(admin, o.windowMs);
    for (const w of workers) w.send({ cmd: 'storm-stop' });
    for (const w of workers) w.send({ cmd: 'close-all' });
    await sleep(1_000);

    // Memory per breaker: every breaker holds a shared state (instance 0 opens them all).
    const memoryBefore = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    workers[0]!.send({ cmd: 'open-all' });
    await sleep(Math.max(1_000, o.refreshInterval));
    const memoryAfter = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    void memory0;
    const stats = await Promise.all(
      workers.map((w) => {
        const reply = w.next('stats');
        w.send({ cmd: 'stats' });
        return reply as Promise<FromWorker & { type: 'stats' }>;
      }),
    );
    return {
      ...size,
      processes,
      idleCommandsPerSecond: idle.perSecond,
      idleTop: idle.top,
      stormCommandsPerSecond: storm.perSecond,
      stormBreakers,
      subscriptions,
      channels,
      tripP50: percentile(delays, 0.5),
      tripP99: percentile(delays, 0.99),
      tripSamples: delays.length,
      missedTrips,
      redisBytesPerBreaker: (memoryAfter - memoryBefore) / size.breakers,
      setupSeconds,
      workerRssMb,
      degraded: stats.reduce((n, s) => n + s.degraded, 0),
      gaps: stats.reduce((n, s) => n + s.gaps, 0),
    };
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        const closed = w.next('closed');
        w.send({ cmd: 'exit' });
        await Promise.race([closed, sleep(10_000)]);
        w.child.kill('SIGKILL');
      }),
    );
    admin.disconnect();
    await server.stop();
  }
}
