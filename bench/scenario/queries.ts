/**
 * The questions the load asks. During warm-up only the "known" half is asked, so those answers sit in the
 * cache when the provider fails; during and after the outage every question is asked: known ones degrade to
 * the last good answer, unseen ones to excerpts, and off-corpus ones (no passage matches) to a 503.
 */

const TOPICS = [
  'patience',
  'forgiveness',
  'the prodigal son',
  'hope in hard times',
  'generosity',
  'gratitude',
  'the good samaritan',
  'prayer',
  'sabbath rest',
  'community and burdens',
  'humility',
  'courage',
  'grief',
  'mustard seed faith',
  'serving others',
  'the lost sheep',
  'anxiety and peace',
  'faithfulness',
  'jonah and second chances',
  'zacchaeus',
  'martha and mary',
  'a light on a hill',
];

/** Answered during warm-up, so cached when the outage starts. */
export const KNOWN_QUERIES: readonly string[] = TOPICS.map((t) => `What does the sermon teach about ${t}?`);
/** Never asked before the outage: the best fallback is excerpts from the documents. */
export const UNSEEN_QUERIES: readonly string[] = TOPICS.map((t) => `How can I practise ${t} this week?`);
/** Match no document: with no cached answer either, nothing can serve them while the model is down. */
export const OFF_CORPUS_QUERIES: readonly string[] = [
  'Quarterly xylophone zeppelin telemetry?',
  'Quokka photosynthesis bandwidth?',
  'Zirconium kayak firmware?',
  'Vortex pumpernickel isotope?',
];

export const ALL_QUERIES: readonly string[] = [...KNOWN_QUERIES, ...UNSEEN_QUERIES, ...OFF_CORPUS_QUERIES];

/** Round-robin over a list, so every run asks the same sequence (no randomness to explain away). */
export class QueryCycle {
  #i = 0;
  constructor(readonly list: readonly string[]) {
    if (list.length === 0) throw new RangeError('list must hold at least one query');
  }
  next(): string {
    const q = this.list[this.#i % this.list.length]!;
    this.#i++;
    return q;
  }
}
