// The relevance rules of excerpt search, shared by every storage adapter. A storage adapter finds, for one
// user, the passages containing any of the question's terms (with term counts) and that user's corpus
// statistics; these functions decide which passages are relevant and in what order. Every statistic is
// the asking user's own, so nothing about other users' documents moves a score.

/** BM25 parameters (Robertson/Spärck Jones, the usual defaults). */
const K1 = 1.2;
const B = 0.75;
/** A title term counts this many times in every passage of its document (titles summarise). */
export const TITLE_WEIGHT = 2;
/**
 * The share of the question (its terms weighted by rarity in the user's documents) a passage must
 * contain to be relevant. A term the user's documents never use weighs the most, so "How long do I boil
 * an egg?" is not answered by a passage that only says "long" (0.18). Chosen on the labelled set
 * (corpus/labelled-questions.ts): off-topic questions reach at most 0.26 there, while right passages of
 * paraphrased questions often cover only 0.35-0.5.
 */
export const MIN_COVERAGE = 0.35;

/**
 * Added to every term's weight in the coverage share: in a handful of documents a question word found
 * everywhere has an idf near 0, and would otherwise count for nothing when a passage contains it.
 */
const COVERAGE_FLOOR = 0.5;

/** One user's corpus statistics. */
export interface CorpusStats {
  /** Number of passages. */
  passages: number;
  /** Sum of passage lengths in terms. */
  totalLength: number;
}

/** A passage holding at least one query term, as the index found it. */
export interface Candidate<Id> {
  id: Id;
  documentId: string;
  /** Length in terms (title terms included, TITLE_WEIGHT times). */
  length: number;
  /** Count of each query term in it (title occurrences included, TITLE_WEIGHT times). */
  tf: ReadonlyMap<string, number>;
}

export interface Ranked<Id> {
  id: Id;
  documentId: string;
  /** BM25 over the user's own passages; higher is more relevant. */
  score: number;
  /** Share of the question's weight this passage covers, 0..1. */
  coverage: number;
}

/** Inverse document frequency (BM25's, never negative): a term in every passage weighs almost nothing. */
export function idf(passages: number, df: number): number {
  return Math.log(1 + (passages - df + 0.5) / (df + 0.5));
}

/**
 * Document frequencies of `terms` among the candidates (every passage of the user holding a term is a
 * candidate, so this is the user's exact df).
 */
export function documentFrequencies<Id>(
  terms: readonly string[],
  candidates: Iterable<Candidate<Id>>,
): Map<string, number> {
  const df = new Map<string, number>(terms.map((t) => [t, 0]));
  for (const c of candidates) for (const t of c.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  return df;
}

/**
 * The relevant passages, best first, at most one per document and at most `limit`. A passage is relevant
 * when it covers at least MIN_COVERAGE of the question; among those, BM25 orders them. Exact ties (same
 * score and coverage) keep the order of `candidates`: a document's earlier passage wins, and documents keep
 * the order their first candidate came in (see candidatesFromPostings in indexing.ts).
 */
export function rankPassages<Id>(
  terms: readonly string[],
  stats: CorpusStats,
  candidates: readonly Candidate<Id>[],
  limit: number,
): Ranked<Id>[] {
  if (terms.length === 0 || candidates.length === 0 || stats.passages <= 0) return [];
  const df = documentFrequencies(terms, candidates);
  const weight = new Map(terms.map((t) => [t, idf(stats.passages, df.get(t) ?? 0)]));
  let total = 0;
  for (const [term, w] of weight) {
    // A number the user's documents never mention ("(#3)", a year) says nothing about the topic.
    if (df.get(term) === 0 && /^\p{N}+$/u.test(term)) continue;
    total += w + COVERAGE_FLOOR;
  }
  const avgLength = Math.max(stats.totalLength / stats.passages, 1);

  const best = new Map<string, Ranked<Id>>();
  for (const c of candidates) {
    let score = 0;
    let covered = 0;
    // In the question's term order, whatever order the candidate's counts were collected in: the sum is
    // then the same float in every store.
    for (const [term, w] of weight) {
      const tf = c.tf.get(term);
      if (tf === undefined || tf <= 0) continue;
      covered += w + COVERAGE_FLOOR;
      score += (w * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * c.length) / avgLength));
    }
    const coverage = total > 0 ? covered / total : 0;
    if (coverage < MIN_COVERAGE) continue;
    const ranked = { id: c.id, documentId: c.documentId, score, coverage };
    const prev = best.get(c.documentId);
    if (prev === undefined || better(ranked, prev)) best.set(c.documentId, ranked);
  }
  // Array.prototype.sort is stable: 0 keeps tied documents in candidate order.
  return [...best.values()].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, limit);
}

function better<Id>(a: Ranked<Id>, b: Ranked<Id>): boolean {
  return a.score > b.score || (a.score === b.score && a.coverage > b.coverage);
}
