// How a document is cut into the passages that search ranks and returns as excerpts. Shared by every
// storage adapter; pure functions.

/** Upper bound on a passage's (and so an excerpt's) length in characters. */
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
  while (rest.length > max) {
    const cut = rest.slice(0, max);
    const space = cut.lastIndexOf(' ');
    const at = space > max / 2 ? space : max;
    // Never split a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(rest.charAt(at - 1)) ? at - 1 : at;
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
  const pieces: string[] = [];
  for (const p of paragraphs) {
    if (p.length <= max) {
      pieces.push(p);
      continue;
    }
    let current = '';
    for (const s of sentences(p).flatMap((s) => hardWrap(s.trim(), max))) {
      if (s.length === 0) continue;
      if (current.length > 0 && current.length + 1 + s.length > max) {
        pieces.push(current);
        current = '';
      }
      current = current.length > 0 ? `${current} ${s}` : s;
    }
    if (current.length > 0) pieces.push(current);
  }
  const out: string[] = [];
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if (last !== undefined && last.length < PASSAGE_MIN_CHARS && last.length + 1 + piece.length <= max) {
      out[out.length - 1] = `${last} ${piece}`;
    } else {
      out.push(piece);
    }
  }
  return out;
}
