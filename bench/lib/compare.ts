import { measure } from 'mitata';
import { median } from './format.js';

/** One thing to time: `run` performs exactly one operation and returns its promise (or nothing). */
export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly run: () => unknown;
}

export interface CompareOptions {
  /** Measured rounds; each round times every contender once, in a rotated order. */
  readonly rounds: number;
  /** CPU time mitata spends on one contender in one round (ms). */
  readonly sampleMs: number;
  /** Id of the contender every ratio is taken against (measured in the same rounds). */
  readonly baseline: string;
}

export interface Timing {
  readonly id: string;
  readonly label: string;
  /** Median over rounds of each round's ns per operation (p25 of mitata's samples). */
  readonly ns: number;
  /** Median over rounds of (this / baseline) in the same round: robust to drift on a noisy machine. */
  readonly ratio: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** Each round's median ns/op, in round order. */
  readonly rounds: readonly number[];
}

/**
 * Times contenders side by side. mitata does the inner loop (a generated loop per measurement, batches of
 * thousands of awaited calls, gc before each measurement); rounds are interleaved and rotated so a slow
 * patch on a shared machine hits every contender, and ratios are formed within a round before taking
 * the median. A first, shorter round is discarded as JIT warm-up.
 */
export async function compare(contenders: readonly Contender[], options: CompareOptions): Promise<Timing[]> {
  if (!contenders.some((c) => c.id === options.baseline)) {
    throw new RangeError(`compare baseline "${options.baseline}" is not one of the contenders`);
  }
  if (!Number.isInteger(options.rounds) || options.rounds < 1) {
    throw new RangeError(`compare rounds must be an integer >= 1, got ${options.rounds}`);
  }
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.id, []]));
  const time = async (c: Contender, ms: number): Promise<number> => {
    // Always batch (1024 calls per sample, even for slow contenders) so one cold call cannot switch mitata
    // to timing single calls; p25 of the samples keeps the ones least disturbed by neighbours on the machine.
    const stats = await measure(c.run, {
      min_cpu_time: ms * 1e6,
      min_samples: 5,
      batch_samples: 1024,
      batch_threshold: Number.POSITIVE_INFINITY,
    });
    return stats.p25;
  };
  for (const c of contenders) await time(c, Math.max(1, options.sampleMs / 3)); // warm-up, discarded
  for (let r = 0; r < options.rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length]!;
      perRound.get(c.id)!.push(await time(c, options.sampleMs));
    }
  }
  const base = perRound.get(options.baseline)!;
  return contenders.map((c) => {
    const rounds = perRound.get(c.id)!;
    const ratios = rounds.map((ns, i) => ns / base[i]!);
    return {
      id: c.id,
      label: c.label,
      ns: median(rounds),
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      rounds,
    };
  });
}

export function timingOf(timings: readonly Timing[], id: string): Timing {
  const t = timings.find((x) => x.id === id);
  if (t === undefined) throw new Error(`no timing for contender "${id}"`);
  return t;
}
