// Deterministic "model": answers from the context passages by quoting the sentences that share the most
// words with the question. No randomness and no clock, so the same prompt always gets the same answer.
import type { PromptPassage } from '../adapters/llm/prompt.js';
import { codePointLength, sliceCodePoints } from '../domain/text.js';

export const NO_CONTEXT_ANSWER =
  "I'm sorry, but I couldn't find anything in your documents that answers this question. " +
  'Try rephrasing it, or add a document that covers the topic.';

const STOPWORDS = new Set(
  (
    'the and for are but not you your with this that from what which who whom whose when where why how ' +
    'was were will would can could should does did has have had his her its our their them they there ' +
    'then than these those into about over under also any all some such only own same very just been being ' +
    'say says said tell told please me my mine is am do of to in on at by an a or as be it we us'
  ).split(' '),
);
const MAX_SENTENCES = 3;
const MAX_SENTENCE_CHARS = 300;

/** Lower-cased words of 3+ letters minus stopwords, with a crude suffix strip so "prayers" meets "prayer". */
export function keywords(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const length = codePointLength(w);
    if (length < 3 || STOPWORDS.has(w)) continue;
    out.add(length > 4 ? w.replace(/(ing|ed|es|s)$/, '') : w);
  }
  return out;
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) =>
      codePointLength(s) > MAX_SENTENCE_CHARS ? `${sliceCodePoints(s, MAX_SENTENCE_CHARS).trimEnd()}…` : s,
    );
}

interface Pick {
  passage: number; // position in the passages array
  order: number; // sentence position within the passage
  text: string;
  score: number;
}

export function composeAnswer(question: string, passages: readonly PromptPassage[]): string {
  if (passages.length === 0) return NO_CONTEXT_ANSWER;
  const wanted = keywords(question);
  const scored: Pick[] = [];
  passages.forEach((p, passage) => {
    sentences(p.text).forEach((text, order) => {
      let score = 0;
      for (const w of keywords(text)) if (wanted.has(w)) score++;
      if (score > 0) scored.push({ passage, order, text, score });
    });
  });
  const cite = (i: number) => {
    const p = passages[i]!;
    return `“${p.title || 'Untitled'}” [${p.index}]`;
  };
  if (scored.length === 0) {
    const first = passages[0]!;
    const opening = sentences(first.text)[0] ?? '';
    return `Your documents don't seem to address this directly. The closest passage, ${cite(0)}, says: ${opening}`.trim();
  }
  // Best sentences first (ties: earlier passage, earlier sentence), then re-read in document order.
  const best = scored
    .sort((x, y) => y.score - x.score || x.passage - y.passage || x.order - y.order)
    .slice(0, MAX_SENTENCES)
    .sort((x, y) => x.passage - y.passage || x.order - y.order);
  const parts: string[] = [];
  for (let k = 0; k < best.length; ) {
    const passage = best[k]!.passage;
    const quoted: string[] = [];
    for (; k < best.length && best[k]!.passage === passage; k++) quoted.push(best[k]!.text);
    parts.push(
      `${parts.length === 0 ? 'Based on' : 'Also, according to'} ${cite(passage)}: ${quoted.join(' ')}`,
    );
  }
  return parts.join(' ');
}

/** Whitespace-separated words: the sim's stand-in for a tokenizer in `usage`. */
export function countTokens(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}
