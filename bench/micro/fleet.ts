import { redisServerAvailable } from '../../packages/tripswitch/test/helpers/redis-server.js';
import { type FleetResult, type FleetSize, runFleet } from '../fleet/fleet.js';
import type { ResultRow, Suite, SuiteResult } from '../lib/suite.js';

const SECTION = 'Redis fleet';
const REFRESH_MS = 1_000;

/** Sizes per scale: the 10×100 and 20×1,000, and the largest this machine holds in reasonable time. */
function sizes(full: boolean, tiny: boolean): FleetSize[] {
  if (tiny) return [{ instances: 3, breakers: 20 }];
  if (!full) return [{ instances: 10, breakers: 100 }];
  return [
    { instances: 10, breakers: 100 },
    { instances: 20, breakers: 1_000 },
    { instances: 50, breakers: 2_000 },
  ];
}

function row(r: FleetResult): ResultRow {
  return {
    section: SECTION,
    case: `${r.instances} instances × ${r.breakers.toLocaleString('en-US')} breakers (${r.processes} processes)`,
    result:
      `idle ${r.idleCommandsPerSecond.toFixed(1)} cmd/s (${r.idleTop}); storm ${Math.round(r.stormCommandsPerSecond)} cmd/s ` +
      `(${r.stormBreakers} failing breakers × ${r.instances} instances); ${r.subscriptions} subscriptions on ${r.channels} channel(s); ` +
      `trip seen p50 ${r.tripP50.toFixed(1)} ms, p99 ${r.tripP99.toFixed(1)} ms (${r.tripSamples} samples, ${r.missedTrips} missed); ` +
      `${Math.round(r.redisBytesPerBreaker)} B/breaker in Redis`,
    ratio: `idle ${(r.idleCommandsPerSecond / (r.instances / (REFRESH_MS / 1000))).toFixed(2)}× instances/refreshInterval`,
    data: {
      instances: r.instances,
      breakers: r.breakers,
      idleCommandsPerSecond: r.idleCommandsPerSecond,
      stormCommandsPerSecond: r.stormCommandsPerSecond,
      subscriptions: r.subscriptions,
      channels: r.channels,
      tripP50: r.tripP50,
      tripP99: r.tripP99,
      tripSamples: r.tripSamples,
      missedTrips: r.missedTrips,
      redisBytesPerBreaker: r.redisBytesPerBreaker,
      setupSeconds: r.setupSeconds,
      workerRssMb: r.workerRssMb,
      degraded: r.degraded,
      gaps: r.gaps,
    },
  };
}

/**
 * Issue 19's fleet simulation: RedisStore instances in several processes × keyed breakers against a private
 * redis-server. Bars: at 20 × 1,000, idle commands/s ≤ 2 × instances / refreshInterval and trip
 * propagation p99 ≤ 100 ms.
 */
export const fleetSuite: Suite = {
  id: 'fleet',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    if (!redisServerAvailable()) {
      return {
        rows: [{ section: SECTION, case: 'fleet', result: 'skipped: no redis-server', ratio: '', data: {} }],
        bars: [{ bar: 'fleet idle cost', measured: 'no redis-server', met: null }],
      };
    }
    const full = ctx.scale.breakers >= 10_000;
    const tiny = ctx.scale.rounds < 2;
    const results: FleetResult[] = [];
    for (const size of sizes(full, tiny)) {
      results.push(
        await runFleet(size, {
          processes: tiny ? 2 : 4,
          refreshInterval: REFRESH_MS,
          windowMs: tiny ? 1_500 : 5_000,
          trips: tiny ? 5 : 40,
          log: ctx.log,
        }),
      );
    }
    const target = results.find((r) => r.instances === 20 && r.breakers === 1_000) ?? results.at(-1)!;
    const idleBar = (2 * target.instances) / (REFRESH_MS / 1000);
    return {
      rows: results.map(row),
      bars: [
        {
          bar: `fleet ${target.instances}×${target.breakers}: idle Redis commands/s ≤ 2 × instances / refreshInterval (${idleBar})`,
          measured: `${target.idleCommandsPerSecond.toFixed(1)} cmd/s`,
          met: target.idleCommandsPerSecond <= idleBar,
        },
        {
          bar: `fleet ${target.instances}×${target.breakers}: trip propagation p99 ≤ 100 ms`,
          measured: `${target.tripP99.toFixed(1)} ms (${target.missedTrips} missed)`,
          met: target.tripP99 <= 100 && target.missedTrips === 0,
        },
      ],
      notes: [
        'Fleet rows: each instance is a RedisStore with its own two connections and its own BreakerRegistry of keyed breakers (model:k0…); instances are spread over worker processes; refreshInterval 1 s. Commands come from INFO commandstats (commands run inside scripts count too). The storm: every instance calls a failing provider through 10% of its breakers, 20 calls/s each (failMax 5, openDuration 1 s, so they keep cycling through trip, probe and re-open). Memory per breaker: used_memory growth when every breaker holds a shared OPEN state. Trip propagation: instance 0 opens one breaker; each other instance’s delay to its stateChange (cross-process, wall-clock based).',
      ],
    };
  },
};
