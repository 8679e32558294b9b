import { compare, type Timing, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { ResultRow, Suite } from '../lib/suite.js';
import { cockatiel, okOp, opossum, tripswitch } from './contenders.js';
import { FloorBreaker } from './floor.js';

const SECTION = 'Success call, closed breaker';

/** A successful call through a closed breaker, every library side by side with the floor and a bare call. */
export const successSuite: Suite = {
  id: 'success',
  title: SECTION,
  async run(ctx) {
    const floor = new FloorBreaker();
    const ts = tripswitch();
    const tsTimeout = tripswitch({ timeout: 10_000 });
    const ck = cockatiel();
    const op = opossum(okOp); // opossum's defaults include timeout: 10_000
    const opNoTimeout = opossum(okOp, { timeout: false });
    const timings = await compare(
      [
        { id: 'bare', label: 'bare `await fn()`', run: () => okOp() },
        { id: 'floor', label: 'floor (10-line breaker)', run: () => floor.execute(okOp) },
        { id: 'tripswitch', label: 'tripswitch (defaults)', run: () => ts.execute(okOp) },
        {
          id: 'tripswitch-timeout',
          label: 'tripswitch `timeout: 10_000`',
          run: () => tsTimeout.execute(okOp),
        },
        { id: 'cockatiel', label: 'cockatiel ConsecutiveBreaker(5)', run: () => ck.execute(okOp) },
        { id: 'opossum-no-timeout', label: 'opossum `timeout: false`', run: () => opNoTimeout.fire() },
        { id: 'opossum', label: 'opossum (defaults: timeout 10 s)', run: () => op.fire() },
      ],
      { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'floor' },
    );
    op.shutdown();
    opNoTimeout.shutdown();
    // Every call must have succeeded through a closed breaker, or the numbers mean something else.
    const stats = ts.stats();
    if (stats.state !== 'closed' || stats.totals.failures !== 0 || stats.totals.successes === 0) {
      throw new Error(
        `success suite: tripswitch saw failures or left CLOSED (${JSON.stringify(stats.totals)})`,
      );
    }

    const t = timingOf(timings, 'tripswitch');
    const tt = timingOf(timings, 'tripswitch-timeout');
    const c = timingOf(timings, 'cockatiel');
    return {
      rows: timings.map((x) => row(x)),
      notes: [
        'tripswitch with `timeout` serves every deadline of a breaker from one timer (same-length deadlines fall ' +
          "due in order) and creates a call's own AbortController only if the call reads `signal` (this " +
          'operation does not); opossum arms a timer per call and hands the call no signal unless given an ' +
          '`abortController`.',
      ],
      bars: [
        {
          bar: 'success call ≤ 1.2× the floor',
          measured: `tripswitch ${formatRatio(t.ratio)} floor (${formatNs(t.ns)} vs ${formatNs(timingOf(timings, 'floor').ns)})`,
          met: t.ratio <= 1.2,
        },
        {
          bar: 'success call with `timeout` set ≤ 2× the floor',
          measured: `tripswitch \`timeout: 10_000\` ${formatRatio(tt.ratio)} floor (${formatNs(tt.ns)})`,
          met: tt.ratio <= 2,
        },
        {
          bar: 'success call faster than cockatiel',
          measured: `tripswitch ${formatNs(t.ns)} vs cockatiel ${formatNs(c.ns)} (${formatRatio(c.ratio / t.ratio)} faster)`,
          met: t.ratio < c.ratio,
        },
      ],
    };
  },
};

function row(x: Timing): ResultRow {
  return {
    section: SECTION,
    case: x.label,
    result: `${formatNs(x.ns)}/op`,
    ratio: `${formatRatio(x.ratio)} floor (${formatRatio(x.ratioMin)}–${formatRatio(x.ratioMax)})`,
    data: { id: x.id, nsPerOp: x.ns, ratioToFloor: x.ratio, ratioMin: x.ratioMin, ratioMax: x.ratioMax },
  };
}
