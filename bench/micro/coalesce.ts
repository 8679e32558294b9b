import OpossumBreaker from 'opossum';
import { CircuitBreaker, coalesce, pipeline } from 'tripswitch';
import { compare, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { Suite } from '../lib/suite.js';

const SECTION = 'Coalescing, N identical concurrent calls';
/** Callers per burst: identical calls that arrive while the first is still in flight. */
const N = 100;

/**
 * A burst of N identical concurrent calls through a breaker, with and without coalescing, and opossum's
 * `coalesce: true` (cockatiel has no equivalent). The upstream is an async function that resolves on the
 * next microtask turn, so every caller of a burst arrives while the first call is in flight. Reported: time
 * per burst, the extra cost per waiter over one plain call, and upstream calls per burst (checked).
 */
export const coalesceSuite: Suite = {
  id: 'coalesce',
  title: SECTION,
  async run(ctx) {
    let upstream = 0;
    const op = async (): Promise<number> => {
      upstream++;
      await undefined;
      return 1;
    };
    const plainBreaker = new CircuitBreaker();
    const single = () => plainBreaker.execute(op);
    const burstPlain = () => {
      const all: Promise<number>[] = [];
      for (let i = 0; i < N; i++) all.push(plainBreaker.execute(op));
      return Promise.all(all);
    };
    const dedupe = coalesce({ key: (q: string) => q });
    const coalesced = pipeline(dedupe.for('same question'), new CircuitBreaker());
    const burstCoalesced = () => {
      const all: Promise<number>[] = [];
      for (let i = 0; i < N; i++) all.push(coalesced.execute(op));
      return Promise.all(all);
    };
    // opossum 9+/10: coalesce by JSON of the arguments; reset the entry on settle so each burst calls once.
    const op2 = new OpossumBreaker((_question: string) => op(), {
      timeout: false,
      coalesce: true,
      coalesceResetOn: ['success', 'error', 'timeout'],
    } as OpossumBreaker.Options);
    const burstOpossum = () => {
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) all.push(op2.fire('same question'));
      return Promise.all(all);
    };

    // Upstream calls per burst, measured once outside the timing loop.
    const perBurst = async (burst: () => Promise<unknown>): Promise<number> => {
      const before = upstream;
      await burst();
      return upstream - before;
    };
    const calls = {
      plain: await perBurst(burstPlain),
      tripswitch: await perBurst(burstCoalesced),
      opossum: await perBurst(burstOpossum),
    };

    const timings = await compare(
      [
        { id: 'single', label: 'one call, tripswitch breaker (reference)', run: single },
        { id: 'plain', label: `${N} calls, breaker, no coalescing`, run: burstPlain },
        { id: 'tripswitch', label: `${N} calls, tripswitch \`coalesce\` + breaker`, run: burstCoalesced },
        { id: 'opossum', label: `${N} calls, opossum \`coalesce: true\``, run: burstOpossum },
      ],
      { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'plain' },
    );
    op2.shutdown();
    const one = timingOf(timings, 'single').ns;
    const perWaiter = (id: string) => (timingOf(timings, id).ns - one) / N;
    const upstreamOf: Record<string, number> = { single: 1, ...calls };
    const rows = timings.map((x) => ({
      section: SECTION,
      case: x.label,
      result:
        x.id === 'single'
          ? `${formatNs(x.ns)}/call, 1 upstream call`
          : `${formatNs(x.ns)}/burst, ${upstreamOf[x.id]} upstream call${upstreamOf[x.id] === 1 ? '' : 's'}, ${formatNs(perWaiter(x.id))}/waiter over one call`,
      ratio:
        x.id === 'single'
          ? ''
          : `${formatRatio(x.ratio)} no coalescing (${formatRatio(x.ratioMin)}–${formatRatio(x.ratioMax)})`,
      data: {
        id: x.id,
        nsPerOp: x.ns,
        upstreamCalls: upstreamOf[x.id] ?? null,
        nsPerWaiter: x.id === 'single' ? null : perWaiter(x.id),
        ratioToPlain: x.ratio,
      },
    }));
    return {
      rows,
      notes: [
        `Coalescing: a burst is ${N} identical calls started together; the upstream resolves on the next microtask turn, so all of them arrive while the first is in flight. opossum's coalescing is a TTL cache of the promise keyed by JSON of the arguments (here reset on settle so each burst makes one call); cockatiel has no equivalent.`,
      ],
      bars: [
        {
          bar: `coalescing: ${N} identical concurrent calls → 1 upstream call (own check)`,
          measured: `tripswitch ${calls.tripswitch}, opossum ${calls.opossum}, without coalescing ${calls.plain}`,
          met: calls.tripswitch === 1,
        },
      ],
    };
  },
};
