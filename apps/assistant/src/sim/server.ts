// The simulated LLM: a plain node:http server (no framework, so it can hang a response or drop a socket
// exactly as a failing provider does) speaking OpenAI chat completions and HF text generation, with
// faults switched at run time through `/_sim/mode`.
//
// `filtered` answers 200 with a content-filter refusal in the wire format (no text), as a provider's safety
// system does. `refuse` destroys each model request's socket without a response: clients see ECONNRESET / "other side
// closed". The listener itself stays open so `/_sim/*` keeps working and the sim can be healed at run time;
// for a true ECONNREFUSED, `close()` the sim (or point the client at a closed port).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BadRequestError,
  errorBody,
  generate,
  hfFiltered,
  hfReply,
  type ModelCall,
  openAiFiltered,
  openAiReply,
  parseHf,
  parseOpenAi,
  type WireFormat,
} from './formats.js';
import { BodyTooLargeError, readBody, sendJson } from './http-util.js';
import { DEFAULT_SEED, parseSimMode, type SimModeConfig, type SimModeInput } from './modes.js';
import { mulberry32 } from './prng.js';
import { SimCounters, type SimStats } from './stats.js';

/** The subset of pino the sim uses. */
export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SimOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  logger?: SimLogger;
  /** Base seed of the `flaky` PRNG when a mode change does not give one (default 0x5eed). */
  seed?: number;
  /** Largest accepted request body; larger gets 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** Model name used by `POST /` and listed by `GET /v1/models`. */
  model?: string;
  /** Initial mode (default healthy). */
  mode?: SimModeInput;
}

export interface SimServer {
  /** Root URL, e.g. http://127.0.0.1:8001 — OpenAI clients use `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and destroys every connection, hanging ones included. */
  close(): Promise<void>;
  /** Same validation as `POST /_sim/mode`; throws TypeError/RangeError on bad input. */
  setMode(input: SimModeInput): SimModeConfig;
  getMode(): SimModeConfig;
  stats(): SimStats;
  resetStats(): void;
}

export const DEFAULT_SIM_MODEL = 'tripswitch-sim-1';
const CONTROL_BODY_LIMIT = 64 * 1024;

function checkOptions(o: SimOptions): void {
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new RangeError(`port must be an integer in [0, 65535], got ${String(o.port)}`);
  }
  if (o.maxBodyBytes !== undefined && !(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes >= 1)) {
    throw new RangeError(`maxBodyBytes must be a positive integer, got ${String(o.maxBodyBytes)}`);
  }
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff)) {
    throw new RangeError(`seed must be an integer in [0, 4294967295], got ${String(o.seed)}`);
  }
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0)) {
    throw new TypeError('host must be a non-empty string');
  }
  if (o.model !== undefined && (typeof o.model !== 'string' || o.model.length === 0)) {
    throw new TypeError('model must be a non-empty string');
  }
}

/** Resolves true after `ms`, or false as soon as the response closes (the client went away). */
function wait(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  try {
    return JSON.parse(raw);
  } catch {
    throw new BadRequestError('body is not valid JSON');
  }
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const baseSeed = options.seed ?? DEFAULT_SEED;
  const defaultModel = options.model ?? DEFAULT_SIM_MODEL;
  const logger = options.logger;
  const counters = new SimCounters();
  let config = parseSimMode(options.mode ?? { mode: 'healthy' }, baseSeed);
  let random = mulberry32(config.seed);

  const setMode = (input: unknown): SimModeConfig => {
    config = parseSimMode(input, baseSeed);
    random = mulberry32(config.seed); // reseed so a given mode+seed fails the same requests every run
    logger?.info({ sim: config }, `sim mode set to ${config.mode}`);
    return config;
  };

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_sim/mode') return sendJson(res, 200, config);
    if (route === 'GET /_sim/stats') return sendJson(res, 200, counters.snapshot(config.mode));
    if (route === 'POST /_sim/reset') {
      counters.reset();
      return sendJson(res, 200, counters.snapshot(config.mode));
    }
    if (route === 'POST /_sim/mode') {
      try {
        return sendJson(res, 200, setMode(await readJson(req, CONTROL_BODY_LIMIT)));
      } catch (err) {
        if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: err.message });
        if (err instanceof BadRequestError || err instanceof TypeError || err instanceof RangeError) {
          return sendJson(res, 400, { error: err.message });
        }
        throw err;
      }
    }
    const known = ['/_sim/mode', '/_sim/stats', '/_sim/reset'];
    if (known.includes(path)) return sendJson(res, 405, { error: `${req.method} not allowed on ${path}` });
    return sendJson(res, 404, { error: `no such control endpoint ${path}` });
  }

  async function modelCall(
    req: IncomingMessage,
    res: ServerResponse,
    format: WireFormat,
    pathModel: string,
  ): Promise<void> {
    const cfg = config; // a mode change mid-request does not alter this request's fate
    counters.arrived(cfg.mode);
    res.once('close', () => counters.left());
    if (cfg.mode === 'refuse') {
      counters.outcome('refused');
      req.socket.destroy();
      return;
    }
    let call: ModelCall;
    try {
      const body = await readJson(req, maxBodyBytes);
      call = format === 'openai' ? parseOpenAi(body) : parseHf(body, pathModel);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        counters.outcome('bad_request');
        const body = errorBody(format, err.message, 'invalid_request_error', 'request_too_large');
        return sendJson(res, 413, body, { connection: 'close' });
      }
      if (err instanceof BadRequestError) {
        counters.outcome('bad_request');
        return sendJson(res, 400, errorBody(format, err.message, 'invalid_request_error', null));
      }
      counters.outcome('aborted'); // the request stream broke: the client is gone
      return;
    }
    if (cfg.mode === 'hang') {
      counters.outcome('hang'); // never answered; released when the client leaves or on close()
      return;
    }
    if (cfg.latency_ms > 0 && !(await wait(cfg.latency_ms, res))) {
      counters.outcome('aborted');
      return;
    }
    const reply = decide(cfg, call);
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  interface Reply {
    status: number;
    body: unknown;
    headers?: Record<string, string>;
  }

  /** Decides the fate of a parsed request under `cfg` and counts its outcome. */
  function decide(cfg: SimModeConfig, call: ModelCall): Reply {
    if (cfg.mode === 'error' || (cfg.mode === 'flaky' && random() < cfg.error_rate)) {
      counters.outcome('error');
      const message = cfg.mode === 'error' ? 'simulated upstream error' : 'simulated intermittent failure';
      return { status: cfg.status, body: errorBody(call.format, message, 'server_error', null) };
    }
    if (cfg.mode === 'loading') {
      counters.outcome('loading');
      // HF's own shape whatever the format: that is what its router answers while a model warms up.
      const body = { error: `Model ${call.model} is currently loading`, estimated_time: cfg.retry_after_s };
      return { status: 503, body };
    }
    if (cfg.mode === 'ratelimit') {
      counters.outcome('ratelimited');
      const message = 'Rate limit reached for requests';
      return {
        status: 429,
        body: errorBody(call.format, message, 'requests', 'rate_limit_exceeded'),
        // Retry-After carries whole seconds (RFC 9110 delay-seconds).
        headers: { 'retry-after': String(Math.ceil(cfg.retry_after_s)) },
      };
    }
    if (cfg.mode === 'filtered') {
      counters.outcome('filtered');
      return { status: 200, body: call.format === 'openai' ? openAiFiltered(call) : hfFiltered() };
    }
    counters.outcome('ok');
    const gen = generate(call);
    return { status: 200, body: call.format === 'openai' ? openAiReply(call, gen) : hfReply(call, gen) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    if (path.startsWith('/_sim/')) return control(req, res, path);
    const post = req.method === 'POST';
    if (path === '/v1/chat/completions' || path.startsWith('/models/') || (path === '/' && post)) {
      if (!post)
        return sendJson(res, 405, { error: `${req.method} not allowed on ${path}` }, { allow: 'POST' });
      if (path === '/v1/chat/completions') return modelCall(req, res, 'openai', defaultModel);
      const model = path === '/' ? defaultModel : decodeURIComponent(path.slice('/models/'.length));
      return modelCall(req, res, 'hf', model);
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const data = [{ id: defaultModel, object: 'model', created: 0, owned_by: 'tripswitch-sim' }];
      return sendJson(res, 200, { object: 'list', data });
    }
    if (req.method === 'GET' && path === '/') {
      return sendJson(res, 200, { name: 'tripswitch simulated LLM', model: defaultModel, mode: config.mode });
    }
    return sendJson(res, 404, { error: `not found: ${req.method} ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger?.warn({ err }, 'sim request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'sim internal error' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger?.info({ url }, 'simulated LLM listening');

  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // hanging requests and idle keep-alive sockets alike
      }),
    setMode: (input) => setMode(input),
    getMode: () => config,
    stats: () => counters.snapshot(config.mode),
    resetStats: () => counters.reset(),
  };
}
