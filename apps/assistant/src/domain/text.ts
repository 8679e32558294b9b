// One definition of a string's length everywhere: Unicode code points. JSON Schema (`maxLength`, which
// Ajv counts in code points) and the domain's own checks must agree, or an input the schema accepts
// (151 emoji in a 300-character title: 302 UTF-16 units) fails deeper down.

/** Length in Unicode code points (an emoji is 1, as in JSON Schema's `maxLength`). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The first `max` code points of `text` (never splits a surrogate pair). */
export function sliceCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let i = 0;
  for (let n = 0; n < max && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return text.slice(0, i);
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
