// Cutting text the library puts into messages (upstream error bodies, values named in errors): counted in
// Unicode code points and never inside a surrogate pair, so a message never carries half an emoji (a lone
// surrogate is not valid UTF-8: loggers write U+FFFD, strict JSON parsers reject the line). Internal.

function isHigh(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** The first `max` code points of `text`. */
export function sliceCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let i = 0;
  for (let n = 0; n < max && i < text.length; n++) {
    i += isHigh(text.charCodeAt(i)) && i + 1 < text.length && isLow(text.charCodeAt(i + 1)) ? 2 : 1;
  }
  return text.slice(0, i);
}

/** `text` when it has at most `max` code points; otherwise its first `max` and '…'. */
export function truncateCodePoints(text: string, max: number): string {
  const cut = sliceCodePoints(text, max);
  return cut.length === text.length ? text : `${cut}…`;
}
