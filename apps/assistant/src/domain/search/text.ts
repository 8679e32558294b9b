// Text normalisation for search, shared by every storage adapter (SQLite here, PostgreSQL elsewhere): the
// question and the indexed documents go through exactly these functions, so text that looks the same
// matches the same. Pure functions, no storage specifics.
import { stemmer } from 'stemmer';
import { codePointLength, sliceCodePoints } from '../text.js';

/**
 * Folds `text` for comparison: Unicode NFKC (ligatures `ﬁ` → `fi`, full-width `Ｍ` → `M`, superscripts…),
 * then full case folding (upper-casing first maps `ß`/`ẞ` → `ss`, final `ς` → `σ`, long `ſ` → `s`; the
 * lower-casing that follows turns `İ` into `i` + U+0307), then the Latin/Greek/Cyrillic combining accents
 * (U+0300–U+036F, which includes that dot) are removed, so `café` = `cafe` and `İstanbul` = `istanbul`.
 * Combining marks of other scripts (Devanagari vowel signs, Japanese voicing marks…) are kept: they are
 * part of the letter. The result is NFC.
 */
export function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .replace(/ß/g, 'ss') // the capital ẞ upper-cases to itself, then lower-cases to ß
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC');
}

/** A word: letters, digits and the combining marks inside them (so a mark never cuts a word in two). */
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/** The words of already-folded text, in order. */
function words(folded: string): string[] {
  return folded.match(WORD) ?? [];
}

/** Common English words that would otherwise match nearly every passage (they carry no topic). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again all am an and any are as at be because been before being below between both ' +
    'but by can could did do does doing down during each few for from further get gets got had has have ' +
    'having he her here hers herself him himself his how i if in into is it its itself just me more most my ' +
    'myself no nor not now of off on once only or other our ours ourselves out over own same she should so ' +
    'some such than that the their theirs them themselves then there these they this those through to too ' +
    'under until up very was we were what when where which while who whom why will with would you your ' +
    'yours yourself yourselves tell say says said please s t d ll m re ve'
  ).split(' '),
);

/** Longest word (code points) that is indexed or searched (longer runs are not words: base64, hashes). */
export const MAX_TERM_LENGTH = 64;
/** A question contributes at most this many distinct terms. */
export const MAX_QUERY_TERMS = 32;
/** Only the start (code points) of a very long question is searched: bounds an oversized request's work. */
export const MAX_QUERY_CHARS = 4000;

/** English words are stemmed (Porter), so "forgiveness" finds "forgive"; other scripts are left whole. */
function stem(word: string): string {
  return /^[a-z]+$/.test(word) ? stemmer(word) : word;
}

/**
 * The search terms of `text` in order, with repeats: folded, split into words, stop words and over-long
 * runs dropped, English words stemmed. Documents are indexed with this, and questions searched with it.
 */
export function termsOf(text: string): string[] {
  const out: string[] = [];
  for (const w of words(foldText(text))) {
    // Code points are never more than UTF-16 units: count them only for a long word.
    if ((w.length > MAX_TERM_LENGTH && codePointLength(w) > MAX_TERM_LENGTH) || STOP_WORDS.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}

/**
 * The distinct terms of a question (at most MAX_QUERY_TERMS, from its first MAX_QUERY_CHARS characters).
 * A question of nothing but stop words ("what is it?") has none: nothing is relevant to it.
 */
export function queryTerms(question: string): string[] {
  return [...new Set(termsOf(sliceCodePoints(question, MAX_QUERY_CHARS)))].slice(0, MAX_QUERY_TERMS);
}

/** Term → count, for indexing one piece of text. */
export function termFrequencies(text: string): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of termsOf(text)) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}
