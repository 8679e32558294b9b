/** What an upstream's error body says, read the way LLM providers shape it (OpenAI, HuggingFace, Google). */
import { sliceCodePoints } from '../core/text.js';

/** Bodies larger than this are not worth parsing to classify a failure. */
const MAX_INSPECT_CHARS = 64 * 1024;

export interface ErrorBodyInfo {
  /**
   * A human message: `error.message`, `error` (when a string), `message` or `detail`; a body that is not
   * JSON gives its first 1000 code points.
   */
  readonly message?: string;
  /** Machine codes: `error.code`, `error.type`, `error.status`, `code`, `type` (lower-case). */
  readonly codes: readonly string[];
  /** HuggingFace's `estimated_time` (seconds until the model is loaded), converted to ms. */
  readonly estimatedTime?: number;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parse(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  const trimmed = body.trimStart();
  if (!trimmed.startsWith('{') || trimmed.length > MAX_INSPECT_CHARS) return body;
  try {
    return JSON.parse(trimmed);
  } catch {
    return body; // truncated or not JSON after all: classify on the raw text
  }
}

/** Reads an error body given as text (JSON or not) or as an already parsed object. */
export function inspectErrorBody(body: unknown): ErrorBodyInfo {
  const parsed = parse(body);
  const root = asRecord(parsed);
  if (root === undefined) {
    const raw = text(parsed);
    return { message: raw === undefined ? undefined : sliceCodePoints(raw, 1000), codes: [] };
  }
  const nested = asRecord(root.error);
  const message = text(nested?.message) ?? text(root.error) ?? text(root.message) ?? text(root.detail);
  const codes: string[] = [];
  for (const value of [nested?.code, nested?.type, nested?.status, root.code, root.type]) {
    if (typeof value === 'string' && value !== '') codes.push(value.toLowerCase());
  }
  const eta = root.estimated_time;
  const estimatedTime =
    typeof eta === 'number' && Number.isFinite(eta) && eta >= 0 ? Math.ceil(eta * 1000) : undefined;
  return { message, codes, estimatedTime };
}

/** HuggingFace answers 503 with "Model ... is currently loading" (and usually `estimated_time`). */
export function isModelLoading(info: ErrorBodyInfo): boolean {
  return (
    info.estimatedTime !== undefined ||
    (info.message !== undefined && /\bis (currently )?loading\b/i.test(info.message))
  );
}

/**
 * Account-level exhaustion (quota, billing, credits) rather than a per-second rate limit: it will not
 * heal in seconds. A bare mention of "quota" only counts when the upstream gave no retry hint and does
 * not speak of a per-second/minute rate (Google reports its per-minute limits as "Quota exceeded").
 */
export function isQuotaExhausted(info: ErrorBodyInfo, hasRetryHint: boolean): boolean {
  if (info.codes.some((c) => /insufficient_quota|billing/.test(c))) return true;
  const message = info.message;
  if (message === undefined) return false;
  if (
    /insufficient[ _]quota|exceeded your current quota|billing|credit balance|out of credits|included credits/i.test(
      message,
    )
  )
    return true;
  return (
    !hasRetryHint && /quota/i.test(message) && !/per[\s_-]?(second|minute)|rate[\s_-]?limit/i.test(message)
  );
}
