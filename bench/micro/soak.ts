import { formatBytes, formatNs } from '../lib/format.js';
import { settledHeap } from '../lib/heap.js';
import type { ResultRow, Suite } from '../lib/suite.js';
import { failure, swallow, tripswitch } from './contenders.js';

const SECTION = 'Soak, one breaker';
/** Heap growth we still call "flat" after a soak: gc noise, never per-call retention. */
const FLAT_BYTES = 256 * 1024;

// One call in ten fails: enough to exercise the failure path, never enough to trip (failMax is high).
let n = 0;
const mixedOp = async (): Promise<number> => {
  if (++n % 10 === 0) throw failure;
  return n;
};

/**
 * Many calls through one breaker, then the heap after gc: a breaker's memory must be O(1) in the number of
 * calls (no growing arrays of samples, no listeners left on a long-lived caller signal).
 */
export const soakSuite: Suite = {
  id: 'soak',
  title: SECTION,
  async run(ctx) {
    const calls = ctx.scale.soakCalls;
    const outer = new AbortController(); // a caller signal that outlives every call
    const cases = [
      {
        id: 'defaults',
        label: 'tripswitch, failMax 1e9',
        calls,
        breaker: tripswitch({ failMax: 1e9 }),
        signal: undefined,
      },
      {
        id: 'full',
        // A fifth of the calls: each one pays for an AbortController and a timer, and the runtime budget is tight.
        calls: Math.ceil(calls / 5),
        label:
          'tripswitch, failMax 1e5 (the bound with failWindow) + failWindow, failureRate, slowCall, timeout, caller signal',
        breaker: tripswitch({
          failMax: 100_000,
          failWindow: 60_000,
          failureRate: { threshold: 0.99, minimumCalls: 100, window: 10_000 },
          slowCall: { duration: 5_000, rateThreshold: 0.99 },
          timeout: 10_000,
        }),
        signal: outer.signal,
      },
    ];
    const rows: ResultRow[] = [];
    const growths: number[] = [];
    for (const c of cases) {
      const calls = c.calls;
      ctx.log(`  ${calls} calls: ${c.label}`);
      const run = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) await c.breaker.execute(mixedOp, c.signal).catch(swallow);
      };
      await run(Math.min(50_000, calls)); // reach steady state first (JIT code, lazily built tables)
      const before = settledHeap();
      const t0 = performance.now();
      await run(calls);
      const seconds = (performance.now() - t0) / 1000;
      const growth = settledHeap() - before;
      growths.push(growth);
      const stats = c.breaker.stats();
      if (stats.state !== 'closed' || stats.totals.failures === 0) {
        throw new Error(`soak: expected a closed breaker that saw failures, got ${JSON.stringify(stats)}`);
      }
      rows.push({
        section: SECTION,
        case: c.label,
        result: `heap ${formatBytes(growth)} after ${calls.toLocaleString('en-US')} calls (10% failures), state ${stats.state}`,
        ratio: `${(growth / (calls / 1000)).toFixed(2)} B per 1k calls; ${formatNs((seconds * 1e9) / calls)}/call`,
        data: { id: c.id, calls, heapGrowthBytes: growth, seconds, failures: stats.totals.failures },
      });
    }
    const worst = Math.max(...growths);
    return {
      rows,
      bars: [
        {
          bar: `memory O(1) in calls: heap growth after a ${calls.toLocaleString('en-US')}-call soak ≈ 0 (< ${formatBytes(FLAT_BYTES)})`,
          measured: `worst ${formatBytes(worst)}`,
          met: worst < FLAT_BYTES,
        },
      ],
    };
  },
};
