/**
 * The shape every benchmark suite has. `bench/micro/main.ts` runs a list of them; a new suite (e.g. the
 * Redis rows) is a file exporting a `Suite` plus one line in that list.
 */

/** How much work a run does: the full run, or tiny counts for the smoke test. */
export interface BenchScale {
  /** Interleaved measured rounds per comparison. */
  readonly rounds: number;
  /** mitata CPU time per contender per round (ms). */
  readonly sampleMs: number;
  /** Breakers created per library for the footprint suite. */
  readonly breakers: number;
  /** Calls in each soak. */
  readonly soakCalls: number;
  /** Other users' documents in the excerpt-search cost comparison. */
  readonly searchDocuments: number;
}

export const FULL_SCALE: BenchScale = {
  rounds: 15,
  sampleMs: 80,
  breakers: 10_000,
  soakCalls: 1_000_000,
  searchDocuments: 10_000,
};
export const QUICK_SCALE: BenchScale = {
  rounds: 3,
  sampleMs: 30,
  breakers: 2_000,
  soakCalls: 100_000,
  searchDocuments: 2_000,
};

export interface SuiteContext {
  readonly scale: BenchScale;
  /** Progress lines (stderr in main, silent in tests). */
  readonly log: (line: string) => void;
}

/** One line of the results table. */
export interface ResultRow {
  readonly section: string;
  readonly case: string;
  /** Human-readable measurement, e.g. "85.2 ns/op" or "312 B, 0 timers". */
  readonly result: string;
  /** Self-describing ratio, e.g. "1.08× floor (1.02–1.15)"; empty when not applicable. */
  readonly ratio: string;
  /** Raw figures for the JSON file. */
  readonly data: Readonly<Record<string, number | string | null>>;
}

/** A DESIGN.md bar (or a check we hold ourselves to) and whether this run met it. */
export interface BarCheck {
  readonly bar: string;
  readonly measured: string;
  /** `null`: could not be measured in this run (say why in `measured`). */
  readonly met: boolean | null;
}

export interface SuiteResult {
  readonly rows: readonly ResultRow[];
  readonly bars: readonly BarCheck[];
  readonly notes?: readonly string[];
}

export interface Suite {
  /** Short id for `--only=<id>`. */
  readonly id: string;
  readonly title: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
