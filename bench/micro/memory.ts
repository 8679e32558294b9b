import { formatBytes, formatRatio } from '../lib/format.js';
import { footprint } from '../lib/heap.js';
import type { ResultRow, Suite } from '../lib/suite.js';
import { cockatiel, okOp, opossum, tripswitch } from './contenders.js';
import { FloorBreaker } from './floor.js';

const SECTION = 'Idle breaker footprint';

interface Case {
  readonly id: string;
  readonly label: string;
  readonly make: () => unknown;
  readonly dispose?: (objects: unknown[]) => void;
}

/**
 * Heap and timers held by breakers that exist but are not called: a registry of breakers per model or
 * per endpoint keeps thousands of these. Each library gets its default options (tripswitch also with the
 * optional windows and timeout switched on, for information).
 */
export const memorySuite: Suite = {
  id: 'memory',
  title: SECTION,
  async run(ctx) {
    const n = ctx.scale.breakers;
    const cases: Case[] = [
      { id: 'floor', label: 'floor (10-line breaker)', make: () => new FloorBreaker() },
      { id: 'tripswitch', label: 'tripswitch (defaults)', make: () => tripswitch() },
      {
        id: 'tripswitch-full',
        label: 'tripswitch (failWindow, failureRate, slowCall, timeout)',
        make: () =>
          tripswitch({
            failWindow: 60_000,
            failureRate: { threshold: 0.5 },
            slowCall: { duration: 5_000 },
            timeout: 10_000,
          }),
      },
      { id: 'cockatiel', label: 'cockatiel ConsecutiveBreaker(5)', make: () => cockatiel() },
      {
        id: 'opossum',
        label: 'opossum (defaults)',
        make: () => opossum(okOp),
        dispose: (objects) => {
          for (const b of objects) (b as ReturnType<typeof opossum>).shutdown();
        },
      },
    ];
    const results = [];
    for (const c of cases) {
      ctx.log(`  ${n} × ${c.label}`);
      const f = footprint(n, c.make);
      results.push({ ...c, bytes: f.bytesPerObject, timers: f.timersPerObject, refTimers: f.refTimers });
      c.dispose?.(f.objects);
      f.objects.length = 0;
    }
    const opossumBytes = results.find((r) => r.id === 'opossum')!.bytes;
    const rows: ResultRow[] = results.map((r) => ({
      section: SECTION,
      case: r.label,
      result: `${formatBytes(r.bytes)}/breaker, ${fmtTimers(r.timers)} timers/breaker (${r.refTimers} ref'ed in total)`,
      ratio: `${formatRatio(r.bytes / opossumBytes)} opossum`,
      data: {
        id: r.id,
        breakers: n,
        bytesPerBreaker: r.bytes,
        timersPerBreaker: r.timers,
        refTimersTotal: r.refTimers,
        ratioToOpossum: r.bytes / opossumBytes,
      },
    }));
    const t = results.find((r) => r.id === 'tripswitch')!;
    return {
      rows,
      bars: [
        {
          bar: 'idle breaker ≤ 1 KB and zero timers (tripswitch defaults)',
          measured: `${formatBytes(t.bytes)} and ${fmtTimers(t.timers)} timers per breaker over ${n} breakers`,
          met: t.bytes <= 1024 && t.timers === 0 && t.refTimers === 0,
        },
      ],
      notes: [
        'Timers are counted with async_hooks (every `Timeout` created and not cleared, `unref()`ed ones too); ' +
          "`process.getActiveResourcesInfo()` only sees ref'ed timers, so opossum's two unref'ed intervals per " +
          'breaker do not show there. Heap is `heapUsed` after forced gc, the holding array excluded.',
      ],
    };
  },
};

function fmtTimers(perBreaker: number): string {
  return Number.isInteger(perBreaker) ? String(perBreaker) : perBreaker.toFixed(2);
}
