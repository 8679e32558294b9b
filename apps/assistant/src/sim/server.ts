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
  type Generation,
  generate,
  hfFiltered,
  hfReply,
  type ModelCall,
  openAiFiltered,
  openAiReply,
  parseHf,
  parseOpenAi,
  splitTokens,
  streamEncoder,
  type WireFormat,
} from './formats.js';
import { BodyTooLargeError, readBody, sendJson } from './http-util.js';
import { DEFAULT_SEED, parseSimMode, type SimModeConfig, type SimModeInput, STALL_TOKENS } from './modes.js';
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
  /** With `input.model`, only that model's mode changes; without, every model's (per-model ones cleared). */
  setMode(input: SimModeInput): SimModeConfig;
  /** The mode for every model without one of its own; `model` given: the mode that model gets. */
  getMode(model?: string): SimModeConfig;
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
  /** Modes set for one model name (`"model"` in `/_sim/mode`); bounded like every other input. */
  const perModel = new Map<string, SimModeConfig>();
  const MAX_PER_MODEL = 64;
  let random = mulberry32(config.seed);

  const setMode = (input: unknown): SimModeConfig => {
    const parsed = parseSimMode(input, baseSeed);
    if (parsed.model === undefined) {
      config = parsed;
      perModel.clear();
    } else {
      if (!perModel.has(parsed.model) && perModel.size >= MAX_PER_MODEL) {
        throw new RangeError(`at most ${MAX_PER_MODEL} models may have a mode of their own`);
      }
      perModel.set(parsed.model, parsed);
    }
    random = mulberry32(parsed.seed); // reseed so a given mode+seed fails the same requests every run
    logger?.info(
      { sim: parsed },
      `sim mode set to ${parsed.mode}${parsed.model ? ` for ${parsed.model}` : ''}`,
    );
    return parsed;
  };
  const modeFor = (model: string): SimModeConfig => perModel.get(model) ?? config;
  const modeView = () => (perModel.size === 0 ? config : { ...config, models: Object.fromEntries(perModel) });

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_sim/mode') return sendJson(res, 200, modeView());
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
    const global = config; // a mode change mid-request does not alter this request's fate
    counters.arrived();
    res.once('close', () => counters.left());
    // Without per-model modes the socket is dropped before the body is read, as a dead provider does.
    if (global.mode === 'refuse' && perModel.size === 0) {
      counters.mode('refuse');
      counters.outcome('refused');
      req.socket.destroy();
      return;
    }
    let call: ModelCall;
    try {
      const body = await readJson(req, maxBodyBytes);
      call = format === 'openai' ? parseOpenAi(body) : parseHf(body, pathModel);
    } catch (err) {
      counters.mode(global.mode);
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
    const cfg = modeFor(call.model);
    counters.mode(cfg.mode);
    counters.parsed(call.model, call.stream);
    if (cfg.mode === 'refuse') {
      counters.outcome('refused');
      req.socket.destroy();
      return;
    }
    // `stall` without streaming has nothing to send before its silence: it hangs.
    if (cfg.mode === 'hang' || (cfg.mode === 'stall' && !call.stream)) {
      counters.outcome('hang'); // never answered; released when the client leaves or on close()
      return;
    }
    // In `drip` and `stall` latency_ms is the gap between tokens, not a delay before the reply.
    const paced = cfg.mode === 'drip' || cfg.mode === 'stall';
    if (!paced && cfg.latency_ms > 0 && !(await wait(cfg.latency_ms, res))) {
      counters.outcome('aborted');
      return;
    }
    const reply = decide(cfg, call);
    if (reply.filtered && call.stream) {
      const encoder = streamEncoder(call, { text: '', finishReason: 'content_filter' });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(encoder.start() + encoder.filtered());
      return;
    }
    if (reply.generation === undefined) return sendJson(res, reply.status, reply.body, reply.headers);
    if (call.stream) return streamReply(res, call, reply.generation, cfg);
    // A non-streamed `drip` answers once every token would have been generated.
    const total =
      cfg.mode === 'drip' ? cfg.latency_ms * Math.max(0, splitTokens(reply.generation.text).length - 1) : 0;
    if (total > 0 && !(await wait(total, res))) {
      counters.outcome('aborted');
      return;
    }
    counters.outcome('ok');
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  /**
   * Streams `gen` as server-sent events in the call's wire format: tokens `latency_ms` apart in `drip`;
   * in `stall` the first STALL_TOKENS tokens, then silence until the client leaves (or `close()`).
   */
  async function streamReply(
    res: ServerResponse,
    call: ModelCall,
    gen: Generation,
    cfg: SimModeConfig,
  ): Promise<void> {
    const tokens = splitTokens(gen.text);
    const encoder = streamEncoder(call, gen);
    const gap = cfg.mode === 'drip' || cfg.mode === 'stall' ? cfg.latency_ms : 0;
    const sent = cfg.mode === 'stall' ? Math.min(STALL_TOKENS, tokens.length) : tokens.length;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.write(encoder.start());
    for (let i = 0; i < sent; i++) {
      if (i > 0 && gap > 0 && !(await wait(gap, res))) {
        counters.outcome('aborted');
        return;
      }
      if (res.destroyed) {
        counters.outcome('aborted');
        return;
      }
      res.write(encoder.token(tokens[i] ?? '', i, tokens.length));
    }
    if (cfg.mode === 'stall') {
      counters.outcome('stalled'); // no more bytes; released when the client leaves or on close()
      return;
    }
    res.end(encoder.end());
    counters.outcome('ok');
  }

  interface Reply {
    status: number;
    body: unknown;
    headers?: Record<string, string>;
    /** Set when the model answers (a reply that can be streamed); its outcome is counted when sent. */
    generation?: Generation;
    /** A content-filter refusal (`filtered`): streamed requests get it as a stream that ends at once. */
    filtered?: boolean;
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
      const body = call.format === 'openai' ? openAiFiltered(call) : hfFiltered();
      return { status: 200, body, filtered: true };
    }
    const gen = generate(call);
    const body = call.format === 'openai' ? openAiReply(call, gen) : hfReply(call, gen);
    return { status: 200, body, generation: gen };
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
      // The sim answers any model name; it lists its default and those given a mode of their own.
      const names = [defaultModel, ...[...perModel.keys()].filter((m) => m !== defaultModel)];
      const data = names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tripswitch-sim' }));
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
    getMode: (model) => (model === undefined ? config : modeFor(model)),
    stats: () => counters.snapshot(config.mode),
    resetStats: () => counters.reset(),
  };
}
