import { Redis } from 'ioredis';
import { CircuitBreaker } from 'tripswitch';
import { RedisStore } from 'tripswitch/redis';
import {
  redisServerAvailable,
  startRedisServer,
} from '../../packages/tripswitch/test/helpers/redis-server.js';
import { compare } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { Suite, SuiteResult } from '../lib/suite.js';

const SECTION = 'Redis mode';
const okOp = () => 1;

async function totalCommands(admin: Redis): Promise<number> {
  const info = await admin.info('stats');
  const match = /total_commands_processed:(\d+)/.exec(info);
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * DESIGN §4 Redis rows: the success path with RedisStore vs the in-memory breaker (bar ≤ 2×), how long a trip
 * in one instance takes to be seen by another (bar p99 ≤ 100 ms), and Redis commands per 1,000 successes.
 * Runs against a private redis-server on a free loopback port.
 */
export const redisSuite: Suite = {
  id: 'redis',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    if (!redisServerAvailable()) {
      return {
        rows: [
          { section: SECTION, case: 'RedisStore', result: 'skipped: no redis-server', ratio: '', data: {} },
        ],
        bars: [
          {
            bar: 'Redis mode success path ≤ 2× the in-memory breaker',
            measured: 'no redis-server',
            met: null,
          },
        ],
      };
    }
    const server = await startRedisServer();
    const admin = new Redis(server.url, { lazyConnect: false });
    const storeA = new RedisStore({ url: server.url, logger: false, prefix: 'bench' });
    const storeB = new RedisStore({ url: server.url, logger: false, prefix: 'bench' });
    try {
      const memory = new CircuitBreaker({ name: 'bench-memory' });
      const shared = new CircuitBreaker({ name: 'bench-shared', store: storeA });
      await storeA.refresh();
      const timings = await compare(
        [
          { id: 'memory', label: 'in-memory breaker', run: () => memory.execute(okOp) },
          { id: 'redis', label: 'RedisStore breaker', run: () => shared.execute(okOp) },
        ],
        { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'memory' },
      );
      const redisTiming = timings.find((t) => t.id === 'redis')!;

      // Commands per 1,000 successful calls (the INFO call itself is one of the commands counted).
      const before = await totalCommands(admin);
      for (let i = 0; i < 1000; i++) await shared.execute(okOp);
      const commands = (await totalCommands(admin)) - before - 1;

      // Trip propagation between two instances (two stores = two sets of connections, as two processes have).
      const a = new CircuitBreaker({ name: 'bench-propagation', store: storeA });
      const b = new CircuitBreaker({ name: 'bench-propagation', store: storeB });
      await Promise.all([storeA.refresh(), storeB.refresh()]);
      const delays: number[] = [];
      const samples = Math.max(20, ctx.scale.rounds * 10);
      for (let i = 0; i < samples; i++) {
        let seen = 0;
        const off = b.on('stateChange', (_from, to) => {
          if (to === 'open') seen = performance.now();
        });
        const t0 = performance.now();
        a.open();
        const deadline = t0 + 5_000;
        while (seen === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 0));
        off();
        delays.push(seen === 0 ? 5_000 : seen - t0);
        a.close();
        while (b.state !== 'closed' && performance.now() < deadline + 5_000) {
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      delays.sort((x, y) => x - y);
      const pct = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!;
      const p50 = pct(0.5);
      const p99 = pct(0.99);

      return {
        rows: [
          {
            section: SECTION,
            case: 'success path: RedisStore vs in-memory',
            result: `${formatNs(redisTiming.ns)}/op`,
            ratio: `${formatRatio(redisTiming.ratio)} in-memory (${formatRatio(redisTiming.ratioMin)}–${formatRatio(redisTiming.ratioMax)})`,
            data: { ns: redisTiming.ns, ratio: redisTiming.ratio },
          },
          {
            section: SECTION,
            case: 'Redis commands per 1,000 successful calls',
            result: String(commands),
            ratio: '',
            data: { commands },
          },
          {
            section: SECTION,
            case: `trip seen by another instance (${samples} trips)`,
            result: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
            ratio: '',
            data: { p50, p99 },
          },
        ],
        bars: [
          {
            bar: 'Redis mode success path ≤ 2× the in-memory breaker',
            measured: `${formatRatio(redisTiming.ratio)}`,
            met: redisTiming.ratio <= 2,
          },
          {
            bar: 'a trip seen by another instance ≤ 100 ms p99',
            measured: `${p99.toFixed(2)} ms`,
            met: p99 <= 100,
          },
        ],
        notes: [
          'Redis rows run against a private redis-server on a free loopback port (no persistence); the success path never calls Redis, so the command count comes from the store’s 1 s backstop re-read only.',
        ],
      };
    } finally {
      await Promise.all([storeA.close(), storeB.close()]);
      admin.disconnect();
      await server.stop();
    }
  },
};
