/**
 * DESIGN 3.2: "a user's search costs the same whether the database holds 20 documents or a million of
 * other users'". One user's excerpt search (the 22 sample sermons, five questions) timed with no other
 * users, then again after other users add copies of the same sermons (every one of them matches the
 * questions: the worst case for a search that is not scoped in the index). Both storage adapters, through
 * the same port the service uses; PostgreSQL on a fresh database on 127.0.0.1:5432 (dropped afterwards).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../../apps/assistant/src/adapters/db/sqlite-storage.js';
import { openPostgres } from '../../apps/assistant/src/adapters/postgres/index.js';
import { SAMPLE_SERMONS } from '../../apps/assistant/src/corpus/sermons.js';
import type { Storage } from '../../apps/assistant/src/domain/storage.js';
import { createTestDatabase } from '../../apps/assistant/test/helpers/postgres.js';
import { formatRatio, median } from '../lib/format.js';
import type { BarCheck, ResultRow, Suite, SuiteContext, SuiteResult } from '../lib/suite.js';

const SECTION = 'Search cost per user';
const QUESTIONS = [
  'Why did the prodigal son come home?',
  'How many times should I forgive?',
  'Who is my neighbor?',
  'How do I stop worrying?',
  'Why should we rest?',
];
const BAR = 1.5;

interface Backend {
  name: string;
  open(): Promise<{ storage: Storage; dispose(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite (FTS5)',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'bench-search-'));
      const storage = openSqliteStorage(join(dir, 'bench.db'));
      return {
        storage,
        async dispose() {
          await storage.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL (tsvector + GIN)',
    async open() {
      const db = await createTestDatabase();
      const storage = await openPostgres(db.url, { max: 8 });
      return {
        storage,
        async dispose() {
          await storage.close();
          await db.drop();
        },
      };
    },
  },
];

/** One timed pass over the questions (ms per search, appended to `into`), for the user 'me'. */
async function pass(storage: Storage, into: number[]): Promise<void> {
  for (const q of QUESTIONS) {
    const t0 = performance.now();
    await storage.documents.searchPassages('me', q, 3);
    into.push(performance.now() - t0);
  }
}

function summary(samples: number[]): { median: number; p95: number } {
  const sorted = samples.toSorted((a, b) => a - b);
  return { median: median(sorted), p95: sorted[Math.floor(sorted.length * 0.95)] ?? Number.NaN };
}

/** Adds `count` documents for other users (the sample sermons again, 22 per user) in parallel batches. */
async function addOthers(storage: Storage, count: number): Promise<void> {
  const perUser = SAMPLE_SERMONS.length;
  const users = Math.ceil(count / perUser);
  await storage.users.ensureUsers(
    [{ token: 'bench-me-token', user: 'me' }].concat(
      Array.from({ length: users }, (_, i) => ({ token: `bench-token-${i}`, user: `other${i}` })),
    ),
  );
  const jobs: Array<() => Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const sermon = SAMPLE_SERMONS[i % perUser]!;
    jobs.push(() => storage.documents.createDocument(`other${Math.floor(i / perUser)}`, sermon));
  }
  for (let i = 0; i < jobs.length; i += 16) await Promise.all(jobs.slice(i, i + 16).map((j) => j()));
}

/**
 * Two databases of the same kind: one holding only this user's documents, one also holding `others`
 * documents of other users. Passes alternate between them (in rotating order), so a slow patch on a
 * shared machine hits both sides alike.
 */
async function measure(backend: Backend, ctx: SuiteContext, others: number) {
  const alone = await backend.open();
  try {
    const crowded = await backend.open();
    try {
      for (const { storage } of [alone, crowded]) {
        await storage.users.ensureUsers([{ token: 'bench-me-token', user: 'me' }]);
        await storage.documents.seedIfEmpty('me', SAMPLE_SERMONS);
      }
      ctx.log(`  ${backend.name}: adding ${others} other users' documents`);
      await addOthers(crowded.storage, others);
      const samples = { alone: [] as number[], crowded: [] as number[] };
      const scratch: number[] = [];
      for (const side of [alone, crowded]) for (let w = 0; w < 3; w++) await pass(side.storage, scratch);
      const rounds = Math.max(4, ctx.scale.rounds * 4);
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? (['alone', 'crowded'] as const) : (['crowded', 'alone'] as const);
        for (const side of order) await pass((side === 'alone' ? alone : crowded).storage, samples[side]);
      }
      return { alone: summary(samples.alone), crowded: summary(samples.crowded) };
    } finally {
      await crowded.dispose();
    }
  } finally {
    await alone.dispose();
  }
}

export const searchSuite: Suite = {
  id: 'search',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    // Scaled with the run: 10,000 in the full run.
    const others = Math.min(10_000, ctx.scale.breakers);
    const rows: ResultRow[] = [];
    const bars: BarCheck[] = [];
    for (const backend of BACKENDS) {
      let result: Awaited<ReturnType<typeof measure>>;
      try {
        result = await measure(backend, ctx, others);
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        const why = `skipped: ${(err as Error).message}`;
        rows.push({ section: SECTION, case: backend.name, result: why, ratio: '', data: {} });
        bars.push({ bar: `${backend.name}: search cost ≤ ${BAR}×`, measured: why, met: null });
        continue;
      }
      const { alone, crowded } = result;
      const ratio = crowded.median / alone.median;
      rows.push({
        section: SECTION,
        case: `${backend.name}: 0 vs ${others.toLocaleString('en-US')} other users' documents`,
        result: `${alone.median.toFixed(3)} ms → ${crowded.median.toFixed(3)} ms (p95 ${alone.p95.toFixed(3)} → ${crowded.p95.toFixed(3)} ms)`,
        ratio: `${formatRatio(ratio)} alone`,
        data: {
          otherDocuments: others,
          msAlone: alone.median,
          msCrowded: crowded.median,
          p95Alone: alone.p95,
          p95Crowded: crowded.p95,
          ratio,
        },
      });
      bars.push({
        bar: `${backend.name}: one user's search with ${others.toLocaleString('en-US')} other users' documents ≤ ${BAR}× alone`,
        measured: formatRatio(ratio),
        met: ratio <= BAR,
      });
    }
    return { rows, bars };
  },
};
