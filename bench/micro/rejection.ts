import { BrokenCircuitError, CircuitState } from 'cockatiel';
import { CircuitOpenError } from 'tripswitch';
import { compare, type Timing, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { BarCheck, ResultRow, Suite } from '../lib/suite.js';
import { cockatiel, failOp, okOp, opossum, swallow, tripswitch } from './contenders.js';

const SECTION = 'Rejection by an open breaker';
const LONG = 3_600_000; // open for an hour: no half-open during the run

/** A call refused by an open breaker: what every caller pays during an outage. */
export const rejectionSuite: Suite = {
  id: 'rejection',
  title: SECTION,
  async run(ctx) {
    const ts = tripswitch({ openDuration: LONG });
    const ck = cockatiel(LONG);
    const op = opossum(okOp, { resetTimeout: LONG });
    // Trip each one the way production does (failures), opossum by hand (its default rule would open on the first failure anyway).
    for (let i = 0; i < 5; i++) {
      await ts.execute(failOp).catch(swallow);
      await ck.execute(failOp).catch(swallow);
    }
    op.open();
    await expectRejection(ts, ck, op);

    const timings = await compare(
      [
        {
          id: 'tripswitch',
          label: 'tripswitch `execute` (caught)',
          run: () => ts.execute(okOp).catch(swallow),
        },
        { id: 'tripswitch-try', label: 'tripswitch `tryExecute`', run: () => ts.tryExecute(okOp) },
        {
          id: 'cockatiel',
          label: 'cockatiel (BrokenCircuitError, caught)',
          run: () => ck.execute(okOp).catch(swallow),
        },
        { id: 'opossum', label: 'opossum (open, no fallback, caught)', run: () => op.fire().catch(swallow) },
      ],
      { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'tripswitch' },
    );
    // Still open after the run, so every timed call was a rejection.
    await expectRejection(ts, ck, op);
    op.shutdown();

    const c = timingOf(timings, 'cockatiel');
    const o = timingOf(timings, 'opossum');
    const bars: BarCheck[] = [];
    for (const id of ['tripswitch', 'tripswitch-try']) {
      const t = timingOf(timings, id);
      const vsCk = c.ratio / t.ratio;
      const vsOp = o.ratio / t.ratio;
      bars.push(
        { bar: `rejection ≤ 1 µs per call (${t.label})`, measured: formatNs(t.ns), met: t.ns <= 1_000 },
        {
          bar: `rejection ≥ 5× faster than cockatiel and opossum (${t.label})`,
          measured: `${formatRatio(vsCk)} faster than cockatiel, ${formatRatio(vsOp)} faster than opossum`,
          met: vsCk >= 5 && vsOp >= 5,
        },
      );
    }
    return { rows: timings.map((x) => row(x)), bars };
  },
};

async function expectRejection(
  ts: ReturnType<typeof tripswitch>,
  ck: ReturnType<typeof cockatiel>,
  op: ReturnType<typeof opossum>,
): Promise<void> {
  const tsError = await ts.execute(okOp).then(
    () => undefined,
    (e: unknown) => e,
  );
  const tried = await ts.tryExecute(okOp);
  const ckError = await ck.execute(okOp).then(
    () => undefined,
    (e: unknown) => e,
  );
  const opError = await op.fire().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(tsError instanceof CircuitOpenError) || tried.ok || !(tried.error instanceof CircuitOpenError)) {
    throw new Error(`rejection suite: tripswitch did not reject with CircuitOpenError (state ${ts.state})`);
  }
  if (!(ckError instanceof BrokenCircuitError) || ck.state !== CircuitState.Open) {
    throw new Error('rejection suite: cockatiel did not reject with BrokenCircuitError');
  }
  if (!(opError instanceof Error) || (opError as { code?: string }).code !== 'EOPENBREAKER' || !op.opened) {
    throw new Error('rejection suite: opossum did not reject as open');
  }
}

function row(x: Timing): ResultRow {
  return {
    section: SECTION,
    case: x.label,
    result: `${formatNs(x.ns)}/op`,
    ratio: `${formatRatio(x.ratio)} tripswitch execute (${formatRatio(x.ratioMin)}–${formatRatio(x.ratioMax)})`,
    data: { id: x.id, nsPerOp: x.ns, ratioToTripswitch: x.ratio, ratioMin: x.ratioMin, ratioMax: x.ratioMax },
  };
}
