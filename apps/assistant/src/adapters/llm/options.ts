// Validation shared by the LLM clients: bad configuration fails at construction, naming the option.
import type { Dispatcher } from 'undici';

export interface HttpClientOptions {
  /** Reuse a dispatcher (e.g. one Agent for several clients); otherwise each client owns its own. */
  dispatcher?: Dispatcher;
  /** Keep-alive connections per origin for an owned Agent (default 64). */
  connections?: number;
  /** Largest successful response body accepted (default 1 MiB); larger is an LlmResponseError. */
  maxResponseBytes?: number;
}

export function checkBaseUrl(value: unknown, option = 'baseUrl'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${option} must be an http(s) URL string, got ${typeof value}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${option} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${option} must use http: or https:, got "${url.protocol}"`);
  }
  return value.replace(/\/+$/, '');
}

export function checkModel(value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new TypeError('model must be a non-empty string (the provider model id)');
  }
  return value;
}

export function checkInt(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${option} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export function checkTemperature(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2) {
    throw new RangeError(`temperature must be a number in [0, 2], got ${String(value)}`);
  }
  return value;
}

/** What both clients derive the same way from their options: auth header and generation limits. */
export interface GenerationSettings {
  readonly headers: Record<string, string>;
  readonly maxTokens: number;
  readonly temperature: number | undefined;
}

export function generationSettings(options: {
  apiKey?: string | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
}): GenerationSettings {
  return {
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    maxTokens: checkInt(options.maxTokens ?? 512, 'maxTokens', 1, 131_072),
    temperature: checkTemperature(options.temperature),
  };
}
