import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../../apps/assistant/src/adapters/db/sqlite-storage.js';
import { openPostgres } from '../../apps/assistant/src/adapters/postgres/index.js';
import {
  measureSearchQuality,
  OFF_TOPIC_QUESTIONS,
  ON_TOPIC_QUESTIONS,
} from '../../apps/assistant/src/corpus/labelled-questions.js';
import { seedSampleCorpus } from '../../apps/assistant/src/corpus/seed.js';
import { SAMPLE_SERMONS } from '../../apps/assistant/src/corpus/sermons.js';
import type { Storage } from '../../apps/assistant/src/domain/storage.js';
import { createTestDatabase } from '../../apps/assistant/test/helpers/postgres.js';
import { compare, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { BarCheck, ResultRow, Suite, SuiteContext, SuiteResult } from '../lib/suite.js';

const SECTION = 'Excerpt search';
const USER = 'reader';
const QUESTIONS = [...ON_TOPIC_QUESTIONS, ...OFF_TOPIC_QUESTIONS].map((q) => q.question);

interface Opened {
  storage: Storage;
  dispose(): Promise<void>;
}

/** The two storage adapters, each opened on a fresh database of its own. */
const BACKENDS: ReadonlyArray<{ name: string; open(): Promise<Opened> }> = [
  {
    name: 'SQLite',
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
    name: 'PostgreSQL',
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

/** USER's sample corpus plus `others` documents of other users (copies of it: every one matches). */
async function build(open: () => Promise<Opened>, others: number): Promise<Opened> {
  const opened = await open();
  const { storage } = opened;
  const owners = Math.ceil(others / SAMPLE_SERMONS.length);
  await storage.users.ensureUsers(
    [{ token: 'bench-reader-token', user: USER }].concat(
      Array.from({ length: owners }, (_, i) => ({ token: `bench-token-${i}`, user: `other-${i}` })),
    ),
  );
  await seedSampleCorpus(storage.documents, USER);
  for (let i = 0; i < others; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, others - i) }, (_, k) => {
        const n = i + k;
        const owner = `other-${Math.floor(n / SAMPLE_SERMONS.length)}`;
        return storage.documents.createDocument(owner, SAMPLE_SERMONS[n % SAMPLE_SERMONS.length]!);
      }),
    );
  }
  return opened;
}

/** Titles returned for every labelled question (searched once each, in order). */
async function answers(storage: Storage): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const q of QUESTIONS)
    out.set(
      q,
      (await storage.documents.searchPassages(USER, q)).map((p) => p.title),
    );
  return out;
}

async function measureBackend(
  backend: (typeof BACKENDS)[number],
  ctx: SuiteContext,
): Promise<{ rows: ResultRow[]; bars: BarCheck[] }> {
  const others = ctx.scale.searchDocuments;
  const section = `${SECTION} (${backend.name})`;
  const t0 = performance.now();
  const alone = await build(() => backend.open(), 0);
  try {
    const crowded = await build(() => backend.open(), others);
    try {
      ctx.log(
        `  ${backend.name}: built ${others} other users' documents in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const aloneAnswers = await answers(alone.storage);
      const crowdedAnswers = await answers(crowded.storage);
      const quality = measureSearchQuality((q) => aloneAnswers.get(q) ?? []);
      const sameRanking = JSON.stringify([...aloneAnswers]) === JSON.stringify([...crowdedAnswers]);
      let i = 0;
      let j = 0;
      const timings = await compare(
        [
          {
            id: 'alone',
            label: 'no other users',
            run: () => alone.storage.documents.searchPassages(USER, QUESTIONS[i++ % QUESTIONS.length]!),
          },
          {
            id: 'crowded',
            label: `${others} other users' documents`,
            run: () => crowded.storage.documents.searchPassages(USER, QUESTIONS[j++ % QUESTIONS.length]!),
          },
        ],
        { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'alone' },
      );
      const a = timingOf(timings, 'alone');
      const c = timingOf(timings, 'crowded');
      const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
      return {
        rows: [
          {
            section,
            case: `precision@1 (${quality.questions} labelled questions)`,
            result: pct(quality.precisionAt1),
            ratio: '',
            data: { precisionAt1: quality.precisionAt1, questions: quality.questions },
          },
          {
            section,
            case: 'precision@3 (right sermon among the top three)',
            result: pct(quality.precisionAt3),
            ratio: '',
            data: { precisionAt3: quality.precisionAt3 },
          },
          {
            section,
            case: 'off-topic questions with no excerpts',
            result: `${quality.offTopicEmpty} of ${quality.offTopic}`,
            ratio: '',
            data: { offTopicEmpty: quality.offTopicEmpty, offTopic: quality.offTopic },
          },
          {
            section,
            case: 'one user’s search (22 sermons), no other users',
            result: `${formatNs(a.ns)}/search`,
            ratio: '',
            data: { ns: a.ns },
          },
          {
            section,
            case: `the same with ${others} other users' documents`,
            result: `${formatNs(c.ns)}/search`,
            ratio: `${formatRatio(c.ratio)} alone (${formatRatio(c.ratioMin)}–${formatRatio(c.ratioMax)})`,
            data: { ns: c.ns, ratio: c.ratio, otherDocuments: others },
          },
        ],
        bars: [
          {
            bar: `${backend.name}: right sermon in the top 3 for ≥ 90% of the labelled questions`,
            measured: pct(quality.precisionAt3),
            met: quality.precisionAt3 >= 0.9,
          },
          {
            bar: `${backend.name}: off-topic questions get no excerpts (all of them)`,
            measured: `${quality.offTopicEmpty} of ${quality.offTopic}`,
            met: quality.offTopicEmpty === quality.offTopic,
          },
          {
            bar: `${backend.name}: a user's search costs ≤ 1.5× with ${others} other users' documents`,
            measured: formatRatio(c.ratio),
            met: c.ratio <= 1.5,
          },
          {
            bar: `${backend.name}: ranking unchanged by other users' documents`,
            measured: sameRanking ? 'identical' : 'differs',
            met: sameRanking,
          },
        ],
      };
    } finally {
      await crowded.dispose();
    }
  } finally {
    await alone.dispose();
  }
}

/**
 * DESIGN 3.2 / issues 11 and 15: excerpt quality on the labelled question set (precision of the top
 * excerpt and of the top three, off-topic questions that get nothing), and one user's search cost with no
 * other users' documents vs with `scale.searchDocuments` of them (bar ≤ 1.5×), for both storage adapters
 * side by side through the port the service uses: real SQLite files, and PostgreSQL databases created on
 * 127.0.0.1:5432 for the run and dropped after it.
 */
export const searchSuite: Suite = {
  id: 'search',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    const rows: ResultRow[] = [];
    const bars: BarCheck[] = [];
    for (const backend of BACKENDS) {
      try {
        const r = await measureBackend(backend, ctx);
        rows.push(...r.rows);
        bars.push(...r.bars);
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        const why = `skipped: ${(err as Error).message}`;
        rows.push({ section: `${SECTION} (${backend.name})`, case: 'all', result: why, ratio: '', data: {} });
        bars.push({ bar: `${backend.name}: excerpt search`, measured: why, met: null });
      }
    }
    return {
      rows,
      bars,
      notes: [
        `Search rows: the labelled set is apps/assistant/src/corpus/labelled-questions.ts (${ON_TOPIC_QUESTIONS.length} paraphrased questions over the sample sermons, ${OFF_TOPIC_QUESTIONS.length} off-topic); other users' documents are copies of the same sermons, the worst case for a shared index. Both stores apply the same rules (domain/search), so their quality rows agree.`,
      ],
    };
  },
};
