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
    maxConcurrent: number;
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
  logLevel: string;
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

const PROVIDERS: readonly LlmProvider[] = ['sim', 'openai', 'hf-inference'];

export function loadConfig(env: Env = process.env): Config {
  const explicitProvider = env.LLM_PROVIDER;
  if (explicitProvider !== undefined && !PROVIDERS.includes(explicitProvider as LlmProvider)) {
    throw new ConfigError(`LLM_PROVIDER must be one of ${PROVIDERS.join(', ')}, got "${explicitProvider}"`);
  }
  // No LLM configured at all -> the embedded simulator.
  const provider: LlmProvider =
    (explicitProvider as LlmProvider | undefined) ?? (env.LLM_BASE_URL ? 'openai' : 'sim');
  const baseUrl = env.LLM_BASE_URL || undefined;
  if (provider !== 'sim' && baseUrl === undefined) {
    throw new ConfigError(`LLM_BASE_URL is required when LLM_PROVIDER is "${provider}"`);
  }
  if (baseUrl !== undefined) {
    try {
      new URL(baseUrl);
    } catch {
      throw new ConfigError(`LLM_BASE_URL must be an absolute URL, got "${baseUrl}"`);
    }
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
      timeoutMs: int(env, 'LLM_TIMEOUT_MS', 30_000, 1, 600_000),
      maxConcurrent: int(env, 'LLM_MAX_CONCURRENT', 32, 1, 10_000),
    },
    breaker: {
      failMax: int(env, 'BREAKER_FAIL_MAX', 5, 1, 1_000_000),
      openMs: int(env, 'BREAKER_OPEN_MS', 30_000, 0, 86_400_000),
      failWindowMs: int(env, 'BREAKER_FAIL_WINDOW_MS', 60_000, 1, 86_400_000),
    },
    databasePath: resolve(env.DATABASE_PATH || 'data/assistant.db'),
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
    logLevel: env.LOG_LEVEL || 'info',
  };
}
