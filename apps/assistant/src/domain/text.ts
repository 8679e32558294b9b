// One definition of a string's length everywhere: Unicode code points. JSON Schema (`maxLength`, which
// Ajv counts in code points) and the domain's own checks must agree, or an input the schema accepts
// (151 emoji in a 300-character title: 302 UTF-16 units) fails deeper down. Every cut goes through here
// too, so none splits a surrogate pair: a lone surrogate is not valid UTF-8 (it becomes U+FFFD on the
// wire, and strict JSON parsers, I-JSON / RFC 7493, reject the whole document).

/** A high surrogate: the first UTF-16 unit of an astral-plane code point. */
function isHigh(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Length in Unicode code points (an emoji is 1, as in JSON Schema's `maxLength`; so is a lone surrogate). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    // A high surrogate followed by a low one is one code point.
    if (isHigh(text.charCodeAt(i)) && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

/** The UTF-16 index where the first `max` code points of `text` end (`text.length` when it is shorter). */
function codePointIndex(text: string, max: number): number {
  let i = 0;
  for (let n = 0; n < max && i < text.length; n++) {
    i += isHigh(text.charCodeAt(i)) && i + 1 < text.length && isLow(text.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

/** The first `max` code points of `text` (never splits a surrogate pair). */
export function sliceCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, codePointIndex(text, max));
}

// In a `u` regular expression a surrogate pair is one (astral) code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** True when `text` holds no unpaired surrogate (it can be encoded as UTF-8 as it is). */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** `text` with every unpaired surrogate replaced by U+FFFD (what a UTF-8 encoder would write anyway). */
export function toWellFormed(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, '\uFFFD') : text;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` (whitespace collapsed) cut for display to at most `max` code points, the last being '…' when cut:
 * at a word break in the second half when there is one, otherwise at a grapheme-cluster boundary (a flag,
 * a family emoji or a letter with its accents stays whole).
 */
export function clipText(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max || codePointLength(clean) <= max) return clean;
  const cut = sliceCodePoints(clean, max - 1);
  const space = cut.lastIndexOf(' ');
  let kept: string;
  if (space > 0 && codePointLength(cut.slice(0, space)) > max / 2) {
    kept = cut.slice(0, space);
  } else {
    // The cluster the next code point belongs to starts before the cut: end where that cluster starts.
    const start = graphemes.segment(clean).containing(cut.length)?.index ?? cut.length;
    kept = cut.slice(0, start > 0 ? start : cut.length);
  }
  return `${kept.replace(/[\s…]+$/, '')}…`;
}

/**
 * Joins the chunks of a stream (model tokens) so that none ends inside a surrogate pair: a trailing high
 * surrogate is held back and sent with the next chunk. The chunks given out, joined, are the chunks taken
 * in, joined; each is well-formed (an unpaired half the upstream itself sent becomes U+FFFD).
 */
export class SurrogateJoiner {
  #held = '';

  /** The part of `chunk` (after anything held back) that can be sent now; may be ''. */
  push(chunk: string): string {
    let text = this.#held + chunk;
    this.#held = '';
    if (text.length > 0 && isHigh(text.charCodeAt(text.length - 1))) {
      this.#held = text.slice(-1);
      text = text.slice(0, -1);
    }
    return toWellFormed(text);
  }

  /** Whatever is still held back at the end of the stream ('' or U+FFFD). */
  end(): string {
    const held = this.#held;
    this.#held = '';
    return toWellFormed(held);
  }
}

/** `text` unchanged, or a DomainValidationError (400) naming `field` when it holds an unpaired surrogate. */
export function requireWellFormed(text: string, field: string): string {
  if (isWellFormed(text)) return text;
  const at = codePointLength(text.slice(0, text.search(LONE_SURROGATE)));
  throw new DomainValidationError(
    `${field} must be well-formed Unicode: unpaired surrogate at character ${at} (send astral-plane ` +
      'characters such as emoji whole, as a surrogate pair or as UTF-8)',
  );
}

/**
 * Invalid input caught by the domain (a value out of range, a wrong type): the request's fault, so it
 * carries its HTTP status (400 unless said otherwise) and the error handler answers with its message
 * instead of a 500.
 */
export class DomainValidationError extends RangeError {
  override readonly name = 'DomainValidationError';
  readonly statusCode: number;

  constructor(message: string, statusCode = 400) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** A value of the wrong type caught by the domain: like `DomainValidationError`, it carries its 400. */
export class DomainTypeError extends TypeError {
  override readonly name = 'DomainTypeError';
  readonly statusCode = 400;
}
