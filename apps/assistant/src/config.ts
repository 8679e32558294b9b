import { resolve } from 'node:path';
import { checkDatabaseUrl } from './adapters/postgres/pool.js';

export type LlmProvider = 'sim' | 'openai' | 'hf-inference';

/** Everything the service reads from its environment, validated once at start-up. */
export interface Config {
  port: number;
  host: string;
  simPort: number;
  llm: {
    provider: LlmProvider;
    /** Undefined for `sim` until the embedded simulator has started and reported its URL. */
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string;
    timeoutMs: number;
    /** Streamed calls: first token within, then no gap between tokens longer than (ms). */
    firstTokenTimeoutMs: number;
    streamIdleTimeoutMs: number;
    /** Upstream requests at once per model, streams included (the bulkhead; the connection pool matches it). */
    maxConcurrent: number;
    /** ms a model call may wait for a bulkhead slot before it is answered from the ladder as `overloaded`. */
    queueWaitMs: number;
    /** The secondary model (LLM_FALLBACK_*), or undefined when none is configured. */
    fallback: LlmModelConfig | undefined;
  };
  breaker: { failMax: number; openMs: number; failWindowMs: number };
  databasePath: string;
  /** postgres:// URL: users, documents and (without REDIS_URL) jobs in PostgreSQL instead of SQLite. */
  databaseUrl: string | undefined;
  /** PostgreSQL pool size per instance and per-statement timeout (ms). */
  database: { poolMax: number; statementTimeoutMs: number };
  redisUrl: string | undefined;
  /** `token:user` pairs; undefined means demo mode (`demo-token` for user `demo`). */
  tokens: string | undefined;
  adminToken: string | undefined;
  cache: { freshTtlMs: number; staleTtlMs: number; maxEntries: number };
  rateLimitPerMinute: number;
  /** Limits on client connections (DESIGN 3.3): a slow or idle client cannot hold a socket. */
  http: HttpLimits;
  /** Dashboard event streams: in total and per client address. */
  dashboard: { maxStreams: number; maxStreamsPerClient: number };
  logLevel: string;
  /** OpenTelemetry export (OTEL_EXPORTER_OTLP_ENDPOINT set); undefined: no OpenTelemetry SDK is loaded at all. */
  otel: OtelConfig | undefined;
}

/** OTLP/HTTP (JSON) export of breaker metrics and model-call spans, from the standard OTEL_* variables. */
export interface OtelConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT as given (base URL of the collector's OTLP/HTTP receiver). */
  endpoint: string;
  /** `<endpoint>/v1/traces` and `<endpoint>/v1/metrics`, as the OTLP exporter spec derives them. */
  tracesUrl: string;
  metricsUrl: string;
  /** OTEL_SERVICE_NAME (default `assistant`): the `service.name` resource attribute. */
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_HEADERS, percent-decoded (secret: the values are scrubbed from logs). */
  headers: Record<string, string>;
  /** OTEL_EXPORTER_OTLP_TIMEOUT (ms, default 10000): one export request, retries included. */
  exportTimeoutMs: number;
  /** OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000). */
  metricIntervalMs: number;
  /** OTEL_BSP_SCHEDULE_DELAY (ms, default 5000): the longest a finished span waits before it is exported. */
  spanDelayMs: number;
}

/** The service's default `service.name`. */
export const DEFAULT_OTEL_SERVICE_NAME = 'assistant';

/** One model endpoint: who serves it, where, with which key and model name. */
export interface LlmModelConfig {
  provider: LlmProvider;
  /** Undefined for `sim`: the embedded simulator's URL is filled in once it has started. */
  baseUrl: string | undefined;
  apiKey: string | undefined;
  model: string;
}

/** Model name of the embedded sim's second model (the secondary model in demo setups). */
export const SIM_FALLBACK_MODEL = 'tripswitch-sim-fallback';

export interface HttpLimits {
  /** ms to receive a request's headers (HTTP_HEADERS_TIMEOUT_MS, default 10000). */
  headersTimeoutMs: number;
  /** ms to receive a whole request, body included (HTTP_REQUEST_TIMEOUT_MS, default 30000). */
  requestTimeoutMs: number;
  /** ms an idle keep-alive connection stays open between requests (HTTP_KEEP_ALIVE_TIMEOUT_MS, default 5000). */
  keepAliveTimeoutMs: number;
  /**
   * ms of socket inactivity after which a connection is closed (HTTP_IDLE_TIMEOUT_MS). Default: the longer
   * of 120000 and two model timeouts plus 10 s, so a request waiting on the model is never cut off.
   */
  idleTimeoutMs: number;
  /** Concurrent client connections; more are refused (HTTP_MAX_CONNECTIONS, default 1024). */
  maxConnections: number;
  /**
   * ms a stop lets non-streamed requests that wait on the model finish (HTTP_SHUTDOWN_GRACE_MS, default
   * 10000); then their model calls are aborted and they get a 503. Open answer streams end at once.
   */
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    checkDatabaseUrl(raw);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return raw;
}

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** `key=value` pairs separated by commas, values percent-encoded (OTEL_EXPORTER_OTLP_HEADERS's format). */
function otlpHeaders(raw: string | undefined): Record<string, string> {
  const key = 'OTEL_EXPORTER_OTLP_HEADERS';
  const headers: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return headers;
  // Error messages name the entry and never echo a value: header values are usually credentials.
  raw.split(',').forEach((entry, i) => {
    if (entry.trim() === '') return;
    const eq = entry.indexOf('=');
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (eq < 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ConfigError(
        `${key} must be comma-separated key=value pairs with header names as keys; entry ${i + 1} is not`,
      );
    }
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(`${key}: the value of "${name}" is not valid percent-encoding`);
    }
    if (hasControlCharacters(value)) {
      throw new ConfigError(`${key}: the value of "${name}" contains control characters`);
    }
    headers[name] = value;
  });
  return headers;
}

/** OTEL_*: undefined unless OTEL_EXPORTER_OTLP_ENDPOINT is set (and OTEL_SDK_DISABLED is not `true`). */
function otelConfig(env: Env): OtelConfig | undefined {
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase();
  if (disabled !== '' && disabled !== 'true' && disabled !== 'false') {
    throw new ConfigError(`OTEL_SDK_DISABLED must be true or false, got "${env.OTEL_SDK_DISABLED}"`);
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  if (endpoint === undefined || disabled === 'true') return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL such as http://localhost:4318, got "${safeText(endpoint)}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https URL, got ${url.protocol}`);
  }
  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/json';
  if (protocol !== 'http/json') {
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL must be http/json (the only protocol this service exports), got "${protocol}"`,
    );
  }
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || DEFAULT_OTEL_SERVICE_NAME;
  if (serviceName.length > 255 || hasControlCharacters(serviceName)) {
    throw new ConfigError('OTEL_SERVICE_NAME must be at most 255 characters without control characters');
  }
  const base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  return {
    endpoint,
    tracesUrl: `${base}v1/traces`,
    metricsUrl: `${base}v1/metrics`,
    serviceName,
    headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    exportTimeoutMs: int(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, 1, 600_000),
    metricIntervalMs: int(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, 100, 86_400_000),
    spanDelayMs: int(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, 1, 600_000),
  };
}

/** An unparseable endpoint is shown without anything that looks like userinfo. */
function safeText(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/, '//[redacted]@');
}

const PROVIDERS: readonly LlmProvider[] = ['sim', 'openai', 'hf-inference'];

/**
 * A relative DATABASE_PATH (and the default `data/assistant.db`) is relative to the directory the user
 * ran `npm start` from: npm runs the workspace script in apps/assistant but keeps the original directory
 * in INIT_CWD.
 */
export function resolveDatabasePath(env: Env): string {
  return resolve(env.INIT_CWD || process.cwd(), env.DATABASE_PATH || 'data/assistant.db');
}

function baseUrlOf(env: Env, key: string, provider: LlmProvider, providerKey: string): string | undefined {
  const baseUrl = env[key] || undefined;
  if (provider !== 'sim' && baseUrl === undefined) {
    throw new ConfigError(`${key} is required when ${providerKey} is "${provider}"`);
  }
  if (baseUrl !== undefined) {
    try {
      new URL(baseUrl);
    } catch {
      throw new ConfigError(`${key} must be an absolute URL, got "${baseUrl}"`);
    }
  }
  return baseUrl;
}

function providerOf(env: Env, key: string): LlmProvider | undefined {
  const value = env[key] || undefined;
  if (value !== undefined && !PROVIDERS.includes(value as LlmProvider)) {
    throw new ConfigError(`${key} must be one of ${PROVIDERS.join(', ')}, got "${value}"`);
  }
  return value as LlmProvider | undefined;
}

const FALLBACK_KEYS = ['LLM_FALLBACK_BASE_URL', 'LLM_FALLBACK_API_KEY', 'LLM_FALLBACK_MODEL'] as const;

/** LLM_FALLBACK_*: the secondary model; unset LLM_FALLBACK_PROVIDER means none (then the others must be unset). */
function fallbackModel(env: Env): LlmModelConfig | undefined {
  const provider = providerOf(env, 'LLM_FALLBACK_PROVIDER');
  if (provider === undefined) {
    const stray = FALLBACK_KEYS.find((k) => env[k]);
    if (stray) throw new ConfigError(`${stray} is set but LLM_FALLBACK_PROVIDER is not: set both or neither`);
    return undefined;
  }
  const model = env.LLM_FALLBACK_MODEL || (provider === 'sim' ? SIM_FALLBACK_MODEL : undefined);
  if (model === undefined) {
    throw new ConfigError(`LLM_FALLBACK_MODEL is required when LLM_FALLBACK_PROVIDER is "${provider}"`);
  }
  return {
    provider,
    baseUrl: baseUrlOf(env, 'LLM_FALLBACK_BASE_URL', provider, 'LLM_FALLBACK_PROVIDER'),
    apiKey: env.LLM_FALLBACK_API_KEY || undefined,
    model,
  };
}

export function loadConfig(env: Env = process.env): Config {
  const explicitProvider = providerOf(env, 'LLM_PROVIDER');
  // No LLM configured at all -> the embedded simulator.
  const provider: LlmProvider = explicitProvider ?? (env.LLM_BASE_URL ? 'openai' : 'sim');
  const baseUrl = baseUrlOf(env, 'LLM_BASE_URL', provider, 'LLM_PROVIDER');
  const llmTimeoutMs = int(env, 'LLM_TIMEOUT_MS', 30_000, 1, 600_000);
  const headersTimeoutMs = int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = int(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  return {
    port: int(env, 'PORT', 8000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    simPort: int(env, 'SIM_PORT', 8001, 0, 65535),
    llm: {
      provider,
      baseUrl,
      apiKey: env.LLM_API_KEY || undefined,
      model: env.LLM_MODEL || (provider === 'sim' ? 'tripswitch-sim-1' : 'meta-llama/Llama-3.1-8B-Instruct'),
      timeoutMs: llmTimeoutMs,
      firstTokenTimeoutMs: int(env, 'LLM_FIRST_TOKEN_TIMEOUT_MS', 15_000, 1, 600_000),
      streamIdleTimeoutMs: int(env, 'LLM_STREAM_IDLE_TIMEOUT_MS', 10_000, 1, 600_000),
      maxConcurrent: int(env, 'LLM_MAX_CONCURRENT', 32, 1, 4096),
      queueWaitMs: int(env, 'LLM_QUEUE_WAIT_MS', 5_000, 1, 600_000),
      fallback: fallbackModel(env),
    },
    breaker: {
      failMax: int(env, 'BREAKER_FAIL_MAX', 5, 1, 1_000_000),
      openMs: int(env, 'BREAKER_OPEN_MS', 30_000, 0, 86_400_000),
      failWindowMs: int(env, 'BREAKER_FAIL_WINDOW_MS', 60_000, 1, 86_400_000),
    },
    databasePath: resolveDatabasePath(env),
    databaseUrl: databaseUrl(env.DATABASE_URL),
    database: {
      poolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 100),
      statementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    },
    redisUrl: env.REDIS_URL || undefined,
    tokens: env.ASSISTANT_TOKENS || undefined,
    adminToken: env.ADMIN_TOKEN || undefined,
    cache: {
      freshTtlMs: int(env, 'CACHE_TTL_MS', 5 * 60_000, 0, 7 * 86_400_000),
      staleTtlMs: int(env, 'CACHE_STALE_TTL_MS', 24 * 3_600_000, 0, 30 * 86_400_000),
      maxEntries: int(env, 'CACHE_MAX_ENTRIES', 10_000, 1, 10_000_000),
    },
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
      idleTimeoutMs: int(
        env,
        'HTTP_IDLE_TIMEOUT_MS',
        Math.max(120_000, 2 * llmTimeoutMs + 10_000),
        100,
        3_600_000,
      ),
      maxConnections: int(env, 'HTTP_MAX_CONNECTIONS', 1024, 1, 1_000_000),
      shutdownGraceMs: int(env, 'HTTP_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    },
    dashboard: {
      maxStreams: int(env, 'DASHBOARD_MAX_STREAMS', 20, 1, 1000),
      maxStreamsPerClient: int(env, 'DASHBOARD_MAX_STREAMS_PER_CLIENT', 4, 1, 1000),
    },
    logLevel: env.LOG_LEVEL || 'info',
    otel: otelConfig(env),
  };
}
