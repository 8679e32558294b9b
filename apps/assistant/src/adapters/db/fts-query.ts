// Turns arbitrary user text into a safe FTS5 MATCH expression.
//
// FTS5 has its own query language (AND/OR/NOT, NEAR, quotes, parentheses, column filters, '*'), and raw
// user text like `"foo" AND (` is a syntax error. We keep only runs of letters and digits, quote each one
// (a quoted string is always a plain term, whatever it spells) and OR them, letting bm25 reward documents
// that match more and rarer terms.

/** Common English words that would otherwise match nearly every document. */
const STOP_WORDS = new Set(
  (
    'a about above after again all am an and any are as at be because been before being below between both ' +
    'but by can could did do does doing down during each few for from further had has have having he her ' +
    'here hers herself him himself his how i if in into is it its itself just me more most my myself no nor ' +
    'not now of off on once only or other our ours ourselves out over own same she should so some such than ' +
    'that the their theirs them themselves then there these they this those through to too under until up ' +
    'very was we were what when where which while who whom why will with would you your yours yourself ' +
    'yourselves tell say says said please'
  ).split(' '),
);

export const MAX_QUERY_TERMS = 32;
const MAX_TERM_LENGTH = 64;
/** Only the start of a very long query is searched: bounds the work an oversized request can cause. */
const MAX_SCANNED_CHARS = 4000;

/**
 * The distinct search terms of `text`, lower-cased, stop words dropped. A query of nothing but stop
 * words ("what is it?") yields no terms: matching it would return arbitrary documents as "relevant".
 */
export function queryTerms(text: string): string[] {
  const words = (
    text
      .slice(0, MAX_SCANNED_CHARS)
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).filter((w) => w.length <= MAX_TERM_LENGTH);
  return [...new Set(words)].filter((w) => !STOP_WORDS.has(w)).slice(0, MAX_QUERY_TERMS);
}

/** A MATCH expression for `text`, or null when it has no searchable terms (then nothing can match). */
export function toFtsQuery(text: string): string | null {
  const terms = queryTerms(text);
  if (terms.length === 0) return null;
  // Terms contain only letters and digits, so wrapping them in double quotes needs no escaping.
  return terms.map((t) => `"${t}"`).join(' OR ');
}
