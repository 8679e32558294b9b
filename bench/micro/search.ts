import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Database, openDatabase } from '../../apps/assistant/src/adapters/db/database.js';
import { DocumentRepository } from '../../apps/assistant/src/adapters/db/documents.js';
import {
  measureSearchQuality,
  OFF_TOPIC_QUESTIONS,
  ON_TOPIC_QUESTIONS,
} from '../../apps/assistant/src/corpus/labelled-questions.js';
import { seedCorpus } from '../../apps/assistant/src/corpus/seed.js';
import { SAMPLE_SERMONS } from '../../apps/assistant/src/corpus/sermons.js';
import { compare, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { Suite, SuiteResult } from '../lib/suite.js';

const SECTION = 'Excerpt search';
const USER = 'reader';

/** A SQLite file holding USER's sample corpus plus `others` documents of other users (copies of it). */
function buildDatabase(dir: string, name: string, others: number): Database {
  const db = openDatabase(join(dir, name));
  const addUser = db.prepare('INSERT INTO users (id, name, token_hash, created_at) VALUES (?, ?, NULL, 0)');
  addUser.run(USER, USER);
  seedCorpus(db, USER);
  const docs = new DocumentRepository(db);
  db.transaction(() => {
    for (let i = 0; i < others; i++) {
      const owner = `other-${Math.floor(i / SAMPLE_SERMONS.length)}`;
      if (i % SAMPLE_SERMONS.length === 0) addUser.run(owner, owner);
      const sermon = SAMPLE_SERMONS[i % SAMPLE_SERMONS.length]!;
      docs.createDocument(owner, sermon);
    }
  })();
  return db;
}

/**
 * DESIGN 3.2 / issue 11: excerpt quality on the labelled question set (precision of the top excerpt and
 * of the top three, off-topic questions that get nothing), and one user's search cost with no other
 * users' documents vs with `scale.searchDocuments` of them (bar ≤ 1.5×). Real SQLite files in a temp dir.
 */
export const searchSuite: Suite = {
  id: 'search',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    const dir = mkdtempSync(join(tmpdir(), 'bench-search-'));
    const others = ctx.scale.searchDocuments;
    try {
      const alone = buildDatabase(dir, 'alone.db', 0);
      const t0 = performance.now();
      const crowded = buildDatabase(dir, 'crowded.db', others);
      ctx.log(
        `  built ${others} other users' documents in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const aloneDocs = new DocumentRepository(alone);
      const crowdedDocs = new DocumentRepository(crowded);

      const quality = measureSearchQuality((q) => aloneDocs.searchPassages(USER, q).map((p) => p.title));
      const crowdedQuality = measureSearchQuality((q) =>
        crowdedDocs.searchPassages(USER, q).map((p) => p.title),
      );
      const sameRanking = JSON.stringify(quality) === JSON.stringify(crowdedQuality);

      // Every labelled question in turn (on- and off-topic), one search per call.
      const questions = [...ON_TOPIC_QUESTIONS, ...OFF_TOPIC_QUESTIONS].map((q) => q.question);
      let i = 0;
      let j = 0;
      const timings = await compare(
        [
          {
            id: 'alone',
            label: 'no other users',
            run: () => aloneDocs.searchPassages(USER, questions[i++ % questions.length]!),
          },
          {
            id: 'crowded',
            label: `${others} other users' documents`,
            run: () => crowdedDocs.searchPassages(USER, questions[j++ % questions.length]!),
          },
        ],
        { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'alone' },
      );
      alone.close();
      crowded.close();
      const a = timingOf(timings, 'alone');
      const c = timingOf(timings, 'crowded');
      const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
      return {
        rows: [
          {
            section: SECTION,
            case: `precision@1 (${quality.questions} labelled questions)`,
            result: pct(quality.precisionAt1),
            ratio: '',
            data: { precisionAt1: quality.precisionAt1, questions: quality.questions },
          },
          {
            section: SECTION,
            case: 'precision@3 (right sermon among the top three)',
            result: pct(quality.precisionAt3),
            ratio: '',
            data: { precisionAt3: quality.precisionAt3 },
          },
          {
            section: SECTION,
            case: 'off-topic questions with no excerpts',
            result: `${quality.offTopicEmpty} of ${quality.offTopic}`,
            ratio: '',
            data: { offTopicEmpty: quality.offTopicEmpty, offTopic: quality.offTopic },
          },
          {
            section: SECTION,
            case: 'one user’s search (22 sermons), no other users',
            result: `${formatNs(a.ns)}/search`,
            ratio: '',
            data: { ns: a.ns },
          },
          {
            section: SECTION,
            case: `the same with ${others} other users' documents`,
            result: `${formatNs(c.ns)}/search`,
            ratio: `${formatRatio(c.ratio)} alone (${formatRatio(c.ratioMin)}–${formatRatio(c.ratioMax)})`,
            data: { ns: c.ns, ratio: c.ratio, otherDocuments: others },
          },
        ],
        bars: [
          {
            bar: 'right sermon in the top 3 for ≥ 90% of the labelled questions',
            measured: pct(quality.precisionAt3),
            met: quality.precisionAt3 >= 0.9,
          },
          {
            bar: 'off-topic questions get no excerpts (all of them)',
            measured: `${quality.offTopicEmpty} of ${quality.offTopic}`,
            met: quality.offTopicEmpty === quality.offTopic,
          },
          {
            bar: `a user's search costs ≤ 1.5× with ${others} other users' documents`,
            measured: formatRatio(c.ratio),
            met: c.ratio <= 1.5,
          },
          {
            bar: "ranking unchanged by other users' documents",
            measured: sameRanking ? 'identical' : 'differs',
            met: sameRanking,
          },
        ],
        notes: [
          `Search rows: the labelled set is apps/assistant/src/corpus/labelled-questions.ts (${quality.questions} paraphrased questions over the sample sermons, ${quality.offTopic} off-topic); other users' documents are copies of the same sermons, the worst case for a shared index.`,
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
