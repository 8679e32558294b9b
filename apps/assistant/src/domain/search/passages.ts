// How a document is cut into the passages that search ranks and returns as excerpts. Shared by every
// storage adapter; pure functions. Lengths are code points (domain/text.ts), and no cut splits a pair.
import { codePointLength, sliceCodePoints } from '../text.js';

/** Upper bound on a passage's (and so an excerpt's) length in characters (code points). */
export const PASSAGE_MAX_CHARS = 600;
/** A paragraph shorter than this is joined to the next one when both fit in one passage. */
const PASSAGE_MIN_CHARS = 200;

/** Sentences of one paragraph (the end punctuation stays with its sentence). */
function sentences(paragraph: string): string[] {
  return paragraph.match(/[^.!?…。！？]*[.!?…。！？]+["'”’)\]]*\s*|[^.!?…。！？]+$/gu) ?? [paragraph];
}

/** Cuts `text` (no longer a sentence boundary in sight) into pieces of at most `max` at word breaks. */
function hardWrap(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  for (;;) {
    const cut = sliceCodePoints(rest, max);
    if (cut.length === rest.length) break;
    const space = cut.lastIndexOf(' ');
    const end = space > 0 && codePointLength(cut.slice(0, space)) > max / 2 ? space : cut.length;
    out.push(rest.slice(0, end).trim());
    rest = rest.slice(end).trim();
  }
  if (rest.length > 0) out.push(rest);
  return out;
}

/**
 * The passages of a document's content, in order: paragraphs (blank-line separated, whitespace collapsed);
 * a paragraph longer than PASSAGE_MAX_CHARS is cut at sentence ends (a sentence longer than that at word
 * breaks); a short paragraph is joined with the next when the two fit. Every passage is 1..PASSAGE_MAX_CHARS
 * characters; no text is lost except whitespace.
 */
export function splitPassages(content: string, max = PASSAGE_MAX_CHARS): string[] {
  const paragraphs = content
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0);
  // Each piece with its length in code points, so nothing is counted twice.
  const pieces: Array<[string, number]> = [];
  for (const p of paragraphs) {
    const length = codePointLength(p);
    if (length <= max) {
      pieces.push([p, length]);
      continue;
    }
    let current = '';
    let currentLength = 0;
    for (const s of sentences(p).flatMap((s) => hardWrap(s.trim(), max))) {
      if (s.length === 0) continue;
      const sLength = codePointLength(s);
      if (currentLength > 0 && currentLength + 1 + sLength > max) {
        pieces.push([current, currentLength]);
        current = '';
        currentLength = 0;
      }
      current = currentLength > 0 ? `${current} ${s}` : s;
      currentLength += currentLength > 0 ? 1 + sLength : sLength;
    }
    if (currentLength > 0) pieces.push([current, currentLength]);
  }
  const out: Array<[string, number]> = [];
  for (const [piece, length] of pieces) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] < PASSAGE_MIN_CHARS && last[1] + 1 + length <= max) {
      out[out.length - 1] = [`${last[0]} ${piece}`, last[1] + 1 + length];
    } else {
      out.push([piece, length]);
    }
  }
  return out.map(([piece]) => piece);
}
