// What a search index stores for one document, and how an index lookup becomes ranking candidates. Every
// storage adapter goes through these functions (and text.ts, relevance.ts), so two stores holding the same
// documents store the same terms and give the same ranked passages. Pure functions.
import { splitPassages } from './passages.js';
import type { Candidate } from './relevance.js';
import { TITLE_WEIGHT } from './relevance.js';
import { termFrequencies } from './text.js';

/** One passage as an index stores it. */
export interface IndexedPassage {
  /** The passage text (domain/search/passages.ts), returned as the excerpt. */
  text: string;
  /** Term → count: the passage's own terms plus its document's title terms, TITLE_WEIGHT times each. */
  tf: Map<string, number>;
  /** Sum of `tf`: the passage's length in terms (BM25's document length). */
  length: number;
}

/** Term counts of one passage: its own words plus its document's title words, TITLE_WEIGHT times. */
export function passageTerms(text: string, titleTerms: ReadonlyMap<string, number>): Map<string, number> {
  const tf = termFrequencies(text);
  for (const [t, n] of titleTerms) tf.set(t, (tf.get(t) ?? 0) + n * TITLE_WEIGHT);
  return tf;
}

/** The passages of a document, in order, with the terms and length an index stores for each. */
export function indexDocument(title: string, content: string): IndexedPassage[] {
  const titleTerms = termFrequencies(title);
  return splitPassages(content).map((text) => {
    const tf = passageTerms(text, titleTerms);
    let length = 0;
    for (const n of tf.values()) length += n;
    return { text, tf, length };
  });
}

/** One row of an index lookup: a passage holding one of the question's terms, and that term's count. */
export interface PostingRow {
  /** The passage's number in the store; numbers grow in the order passages were stored. */
  passage: number;
  /** The passage's document, as the store names it (one value per document). */
  document: string;
  /** The passage's length in terms. */
  length: number;
  term: string;
  tf: number;
}

/**
 * The ranking candidates of an index lookup: one per passage, ordered by passage number (the order they
 * were stored in), which is how rankPassages breaks exact ties — so stores that stored the same documents
 * in the same order rank them identically, whatever order their lookup returned rows in.
 */
export function candidatesFromPostings(rows: Iterable<PostingRow>): Candidate<number>[] {
  const byPassage = new Map<number, Candidate<number> & { tf: Map<string, number> }>();
  for (const r of rows) {
    let c = byPassage.get(r.passage);
    if (c === undefined) {
      c = { id: r.passage, documentId: r.document, length: r.length, tf: new Map() };
      byPassage.set(r.passage, c);
    }
    c.tf.set(r.term, r.tf);
  }
  return [...byPassage.values()].sort((a, b) => a.id - b.id);
}
