// Upstream error text, URLs and log lines can carry secrets: an API key echoed back in a provider's error
// message, a bearer token, a token in a query string, a password in a connection URL. The scrubber
// replaces them before the text reaches a log line or the admin view (the public views never show
// upstream text at all: see DESIGN 3.1).

import { sliceCodePoints } from '../domain/text.js';

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not searched for verbatim (they would match ordinary words). */
const MIN_SECRET_LENGTH = 6;

/**
 * Shapes that look like credentials whatever they belong to:
 * - `Bearer <token>` / `Basic <credentials>` (an echoed Authorization header);
 * - `api_key=…`, `token: …`, `"password":"…"` and similar name/value pairs (query strings, JSON, headers);
 * - well-known key formats (OpenAI `sk-…`, Hugging Face `hf_…`, GitHub, Slack, AWS access key ids);
 * - the password in a URL's userinfo (`redis://:secret@host`).
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic|Token)([ \t]+)[A-Za-z0-9\-._~+/=:]{4,}/gi, `$1$2${REDACTED}`],
  [
    /((?:["']?)(?:[A-Za-z0-9_-]*(?:api[_-]?key|apikey|token|secret|password|passwd|pwd|authorization|auth|credential|signature|sig(?!n)|session|cookie)[A-Za-z0-9_-]*)["']?\s*[:=]\s*["']?)([^\s"'&,;}]{3,})/gi,
    `$1${REDACTED}`,
  ],
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_-]{12,}/g, REDACTED],
  [/\bhf_[A-Za-z0-9]{12,}/g, REDACTED],
  [/\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{12,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces configured secrets and credential-shaped text with `[redacted]`. */
export class Scrubber {
  readonly #secrets: RegExp | undefined;

  /** `secrets`: values never to show (API keys, tokens, passwords); empty and very short ones are skipped. */
  constructor(secrets: Iterable<string | undefined> = []) {
    const list = [...new Set([...secrets].filter((s): s is string => typeof s === 'string'))]
      .filter((s) => s.length >= MIN_SECRET_LENGTH)
      // Longest first, so a secret containing another is replaced whole.
      .sort((a, b) => b.length - a.length);
    const forms = new Set<string>();
    for (const s of list) {
      forms.add(s);
      forms.add(encodeURIComponent(s));
      forms.add(JSON.stringify(s).slice(1, -1));
    }
    this.#secrets = forms.size === 0 ? undefined : new RegExp([...forms].map(escapeRegExp).join('|'), 'g');
  }

  scrub(text: string): string {
    let out = this.#secrets === undefined ? text : text.replace(this.#secrets, REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}

/**
 * The path of a URL with every query value replaced (`/a?token=x&b=1` → `/a?token=[redacted]&b=[redacted]`):
 * request logs keep which parameters were sent, never their values.
 */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      // A bare value (`?abc123`) may itself be a token.
      if (eq < 0) return pair === '' ? '' : REDACTED;
      return `${sliceCodePoints(pair.slice(0, eq), 64)}=${REDACTED}`;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

/** Origin and path of a URL, without userinfo or query (for the start banner and error messages). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin + parsed.pathname;
  } catch {
    return '[unparseable URL]';
  }
}
