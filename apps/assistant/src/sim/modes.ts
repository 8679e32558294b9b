// Fault modes of the simulated LLM and validation of `POST /_sim/mode` bodies. Every POST replaces the
// whole configuration: a field left out goes back to its default, so a test never inherits stale knobs.
import { codePointLength } from '../domain/text.js';

export const SIM_MODES = [
  'healthy',
  'slow',
  'hang',
  'error',
  'refuse',
  'loading',
  'ratelimit',
  'flaky',
  'drip',
  'stall',
  'filtered',
] as const;
export type SimMode = (typeof SIM_MODES)[number];

/** What callers send (HTTP body or `setMode`). */
export interface SimModeInput {
  mode: SimMode;
  /**
   * Only requests for this model name change mode; without it the mode applies to every model and clears
   * per-model settings (DESIGN.md 3.1).
   */
  model?: string;
  /**
   * `slow` and the others: delay before answering (default 2000 in `slow`, 0 elsewhere). `drip`: the gap
   * between streamed tokens (default 200). `stall`: the gap between the tokens sent before the silence.
   */
  latency_ms?: number;
  /** Status for `error` (default 500) and for `flaky` failures (default 503). */
  status?: number;
  /** Fraction of requests `flaky` fails (default 0.5). */
  error_rate?: number;
  /** `ratelimit`: Retry-After header (default 5); `loading`: HF `estimated_time` (default 20). */
  retry_after_s?: number;
  /** Seed of the PRNG behind `flaky`; reseeded on every mode change so runs repeat. */
  seed?: number;
}

/** The effective configuration, defaults filled in. */
export interface SimModeConfig {
  mode: SimMode;
  /** Present when the configuration applies to one model only. */
  model?: string;
  latency_ms: number;
  status: number;
  error_rate: number;
  retry_after_s: number;
  seed: number;
}

export const DEFAULT_SEED = 0x5eed;
const KEYS = new Set(['mode', 'model', 'latency_ms', 'status', 'error_rate', 'retry_after_s', 'seed']);
const MAX_MODEL_LENGTH = 200;
/** Tokens a `stall` stream sends before it goes silent. */
export const STALL_TOKENS = 3;

function defaultLatency(mode: SimMode): number {
  if (mode === 'slow') return 2000;
  if (mode === 'drip') return 200;
  return 0;
}
const MAX_LATENCY_MS = 600_000;
const MAX_RETRY_AFTER_S = 86_400;

function numberIn(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  const ok =
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    throw new RangeError(`${key} must be ${kind} in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Throws TypeError/RangeError with a message naming the field and its accepted values. */
export function parseSimMode(body: unknown, defaultSeed = DEFAULT_SEED): SimModeConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TypeError('body must be a JSON object like {"mode": "healthy"}');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!KEYS.has(key)) throw new TypeError(`unknown field "${key}"; accepted: ${[...KEYS].join(', ')}`);
  }
  const mode = b.mode;
  if (typeof mode !== 'string' || !(SIM_MODES as readonly string[]).includes(mode)) {
    throw new TypeError(`mode must be one of ${SIM_MODES.join('|')}, got ${JSON.stringify(mode)}`);
  }
  const m = mode as SimMode;
  const model = b.model;
  if (
    model !== undefined &&
    (typeof model !== 'string' || model.length === 0 || codePointLength(model) > MAX_MODEL_LENGTH)
  ) {
    throw new TypeError(`model must be a non-empty string of at most ${MAX_MODEL_LENGTH} characters`);
  }
  return {
    mode: m,
    ...(model === undefined ? {} : { model }),
    latency_ms: numberIn(b, 'latency_ms', 0, MAX_LATENCY_MS, false) ?? defaultLatency(m),
    status: numberIn(b, 'status', 400, 599, true) ?? (m === 'flaky' ? 503 : 500),
    error_rate: numberIn(b, 'error_rate', 0, 1, false) ?? 0.5,
    retry_after_s: numberIn(b, 'retry_after_s', 0, MAX_RETRY_AFTER_S, false) ?? (m === 'loading' ? 20 : 5),
    seed: numberIn(b, 'seed', 0, 0xffffffff, true) ?? defaultSeed,
  };
}
