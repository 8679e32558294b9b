// Test harness for the AssistantService: the simulated LLM on a free port, the app on another free port
// with a temp SQLite file and test-friendly settings, and small real-HTTP helpers to drive both.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DestinationStream } from 'pino';
import type { Database } from '../../src/adapters/db/database.js';
import type { SqliteStorage } from '../../src/adapters/db/sqlite-storage.js';
import { type App, type AppOptions, createApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { SimModeInput } from '../../src/sim/modes.js';
import { type SimServer, startSim } from '../../src/sim/server.js';

/** Parsed JSON replies are read freely by tests. */
// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies
export type Json = any;

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Json;
}

export interface RequestInit {
  token?: string | undefined;
  /** Serialised with JSON.stringify unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A small trip threshold and a short open duration so outages play out in about a second. The LLM timeout
 * is generous because healthy answers must not time out on a loaded machine (the sim shares this process);
 * tests of a hanging provider set a shorter one.
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  LLM_TIMEOUT_MS: '2000',
  BREAKER_FAIL_MAX: '3',
  BREAKER_OPEN_MS: '800',
  BREAKER_FAIL_WINDOW_MS: '60000',
  RATE_LIMIT_PER_MINUTE: '100000',
  LOG_LEVEL: 'silent',
};

export const DEMO_TOKEN = 'demo-token';

export interface StartOptions {
  /** Overrides of TEST_ENV (e.g. ASSISTANT_TOKENS, CACHE_TTL_MS, BREAKER_OPEN_MS). */
  env?: Record<string, string>;
  /** Reuse a running sim instead of starting one (it is then not closed by `close()`). */
  sim?: SimServer;
  /** Reuse a database file (restart scenarios); default a fresh temp file. */
  databasePath?: string;
  logStream?: DestinationStream;
}

export interface Service {
  app: App;
  sim: SimServer;
  config: Config;
  baseUrl: string;
  databasePath: string;
  request(method: string, path: string, init?: RequestInit): Promise<HttpReply>;
  query(token: string | undefined, body: unknown): Promise<HttpReply>;
  setMode(input: SimModeInput): Promise<void>;
  /** Model requests the sim has received, read over HTTP from `/_sim/stats`. */
  simRequests(): Promise<number>;
  /** `GET /health/circuit-breakers` entry of the LLM breaker. */
  llmHealth(): Promise<Json>;
  metricsText(): Promise<string>;
  /** Closes the app, then the sim (if started here), then removes the temp directory. Idempotent. */
  close(): Promise<void>;
}

const LOAD_SHED_RETRIES = 20;

/**
 * A 503 from the load shedder (not the ladder's own 503, nor readiness). Today the service's error handler
 * renders it as "internal error"; its own message names the pressure.
 */
export function isLoadShed(reply: HttpReply): boolean {
  const message: unknown = reply.json?.message;
  return (
    reply.status === 503 &&
    typeof message === 'string' &&
    (message === 'internal error' || /under pressure/i.test(message))
  );
}

async function sendOnce(url: string, method: string, init: RequestInit): Promise<HttpReply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * One HTTP exchange with the service (or the sim). The service sheds load (@fastify/under-pressure, 503)
 * when its event loop stalls for a second, which happens on a loaded test machine, e.g. while another
 * service starts in the same process. That refusal comes before any handler runs, so it is retried here:
 * the tests are about the ladder, not about the load shedder.
 */
export async function send(url: string, method: string, init: RequestInit = {}): Promise<HttpReply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await sendOnce(url, method, init);
    if (!isLoadShed(reply) || attempt >= LOAD_SHED_RETRIES) return reply;
    await sleep(250);
  }
}

/** The sim plus the app on 127.0.0.1, both on port 0. */
export async function startService(options: StartOptions = {}): Promise<Service> {
  const sim = options.sim ?? (await startSim({ port: 0, host: '127.0.0.1' }));
  let dir: string | undefined;
  let databasePath = options.databasePath;
  if (databasePath === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'assistant-svc-'));
    databasePath = join(dir, 'assistant.db');
  }
  const config = loadConfig({
    ...TEST_ENV,
    LLM_PROVIDER: 'sim',
    LLM_BASE_URL: sim.url,
    DATABASE_PATH: databasePath,
    PORT: '0',
    ...options.env,
  });
  const appOptions: AppOptions = options.logStream ? { logStream: options.logStream } : {};
  const app = await createApp(config, appOptions);
  const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = address.replace('localhost', '127.0.0.1');

  const request = (method: string, path: string, init?: RequestInit) =>
    send(`${baseUrl}${path}`, method, init);

  let closed = false;
  const service: Service = {
    app,
    sim,
    config,
    baseUrl,
    databasePath,
    request,
    query: (token, body) => request('POST', '/api/assistant/query', { token, body }),
    async setMode(input) {
      const reply = await send(`${sim.url}/_sim/mode`, 'POST', { body: input });
      if (reply.status !== 200) throw new Error(`sim refused mode ${JSON.stringify(input)}: ${reply.text}`);
    },
    async simRequests() {
      const reply = await send(`${sim.url}/_sim/stats`, 'GET');
      return reply.json.requests as number;
    },
    async llmHealth() {
      const reply = await request('GET', '/health/circuit-breakers');
      return reply.json.llm;
    },
    async metricsText() {
      return (await request('GET', '/metrics')).text;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (!options.sim) await sim.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return service;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Polls a job until it leaves queued/running; returns its final view. */
export async function waitForJob(
  service: Pick<Service, 'request'>,
  token: string,
  jobId: string,
  timeoutMs = 10_000,
): Promise<Json> {
  return eventually(
    async () => {
      const reply = await service.request('GET', `/api/assistant/jobs/${jobId}`, { token });
      if (reply.status !== 200) throw new Error(`job ${jobId}: HTTP ${reply.status} ${reply.text}`);
      return reply.json.status === 'done' || reply.json.status === 'failed' ? reply.json : undefined;
    },
    `job ${jobId} to finish`,
    timeoutMs,
    50,
  );
}

/** The value of one Prometheus sample, e.g. metricValue(text, 'x_total', {breaker_name: 'llm'}). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map<string, string>();
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) present.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) return Number(match[3]);
  }
  return null;
}

/** The SQLite connection of an app on the embedded store (tests that reach into the job table). */
export function sqliteDb(app: Pick<App, 'storage'>): Database {
  if (app.storage.kind !== 'sqlite') throw new Error(`expected the SQLite store, got ${app.storage.kind}`);
  return (app.storage as SqliteStorage).db;
}
