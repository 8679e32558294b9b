// Helpers for the hostile-input tests and the security probe: captured log lines, a fake model provider
// that echoes secrets in its errors, raw-socket clients (slow bodies, other client addresses).
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { type Service, startService } from './service.js';

/** A pino destination that keeps every line (raw text and parsed). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  constructor() {
    super({
      write: (chunk, _encoding, done) => {
        for (const line of String(chunk).split('\n')) if (line.trim() !== '') this.lines.push(line);
        done();
      },
    });
  }

  /** Parsed lines. */
  // biome-ignore lint/suspicious/noExplicitAny: log lines are arbitrary JSON
  entries(): any[] {
    return this.lines.map((l) => JSON.parse(l));
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export interface EchoUpstream {
  url: string;
  /** Requests received. */
  requests: number;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible "provider" that fails every call with `status` and an error message quoting the
 * request's Authorization header, the key on its own and a URL with the key in its query string: the way
 * misbehaving gateways leak secrets into upstream error text.
 */
export async function startEchoUpstream(status = 502): Promise<EchoUpstream> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    req.resume();
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? '');
      const key = auth.replace(/^Bearer\s+/i, '');
      const message =
        `upstream rejected request with Authorization: ${auth} (key ${key}); ` +
        `retry at http://gateway.internal/v1/chat?api_key=${key}&token=${key}`;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message, type: 'server_error', key } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/v1`,
    get requests() {
      return state.requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

export interface RawOutcome {
  /** What the server wrote back (may be empty). */
  response: string;
  /** ms from connect until the server closed the connection. */
  closedAfterMs: number;
  /** Bytes of the body we managed to send before the close. */
  bytesSent: number;
}

/**
 * Sends `head` (request line and headers) at once, then the body `drip` one byte every `everyMs`, until the
 * server closes the connection or `giveUpMs` passes (then rejects: the server held the socket).
 */
export async function dribble(
  baseUrl: string,
  head: string,
  bodyBytes: number,
  everyMs: number,
  giveUpMs: number,
): Promise<RawOutcome> {
  const { hostname, port } = new URL(baseUrl);
  const socket: Socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const started = Date.now();
  let response = '';
  let sent = 0;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    response += d;
  });
  socket.on('error', () => {});
  socket.write(head);
  const timer = setInterval(() => {
    if (sent < bodyBytes && socket.writable) {
      socket.write('x');
      sent++;
    }
  }, everyMs);
  try {
    await new Promise<void>((resolve, reject) => {
      const giveUp = setTimeout(
        () => reject(new Error(`server still holds the socket after ${giveUpMs} ms`)),
        giveUpMs,
      );
      socket.once('close', () => {
        clearTimeout(giveUp);
        resolve();
      });
    });
  } finally {
    clearInterval(timer);
    socket.destroy();
  }
  return { response, closedAfterMs: Date.now() - started, bytesSent: sent };
}

/** The case: `Content-Length: 4000`, then one byte of body every 200 ms (800 s to finish). */
export function slowBody(baseUrl: string, path: string, token: string): Promise<RawOutcome> {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${new URL(baseUrl).host}\r\nAuthorization: Bearer ${token}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n';
  return dribble(baseUrl, head, 4000, 200, 30_000);
}

/** Headers that never end: one more byte of a header value every 100 ms. */
export function slowHeaders(baseUrl: string): Promise<RawOutcome> {
  const head = `GET /health/live HTTP/1.1\r\nHost: ${new URL(baseUrl).host}\r\nX-Slow: `;
  return dribble(baseUrl, head, 100_000, 100, 30_000);
}

/** A GET from a chosen local address (127.0.0.x are all loopback on Linux): resolves with the response. */
export function getFrom(
  baseUrl: string,
  path: string,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<IncomingMessage> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port: Number(port),
      path,
      localAddress,
      headers,
      agent: false,
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

/** Astral-plane text of exactly `n` code points (each one is two UTF-16 units and four UTF-8 bytes). */
export function astral(n: number, char = '😀'): string {
  return char.repeat(n);
}

/**
 * The service calling an `EchoUpstream` (which fails with 502 and the key in its text), with `apiKey`
 * configured, every log line captured at trace; closed after the test.
 */
export async function startEchoService(
  t: TestContext,
  apiKey: string,
  env: Record<string, string> = {},
): Promise<{ svc: Service; upstream: EchoUpstream; logs: LogCapture }> {
  const upstream = await startEchoUpstream(502);
  t.after(() => upstream.close());
  const logs = new LogCapture();
  const svc = await startService({
    env: {
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: upstream.url,
      LLM_API_KEY: apiKey,
      LOG_LEVEL: 'trace',
      ...env,
    },
    logStream: logs,
  });
  t.after(() => svc.close());
  return { svc, upstream, logs };
}
