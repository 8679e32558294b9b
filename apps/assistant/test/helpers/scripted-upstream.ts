// An OpenAI-compatible provider whose every reply is scripted by the test: a fixed answer, a stream of
// chunks cut wherever the test likes (inside a surrogate pair too), or an error status with a given text.
// In `strict` mode it refuses request bodies carrying unpaired surrogates with a 400, as strict JSON
// parsers do (I-JSON, RFC 7493, forbids them; C++ servers built on nlohmann/json reject them).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface UpstreamScript {
  /** Non-streamed answer text (default "ok"). */
  answer?: string;
  /** `delta.content` of each streamed chunk, in order (default: the answer as one chunk). */
  chunks?: string[];
  /** Answer every call with this status and `{ error: { message: errorMessage } }`. */
  status?: number;
  errorMessage?: string;
  /** 400 for a request whose JSON holds a lone surrogate. */
  strict?: boolean;
}

export interface ScriptedUpstream {
  url: string;
  script: UpstreamScript;
  /** Bodies received (parsed). */
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON
  bodies: any[];
  /** Requests refused by strict mode. */
  refused: number;
  close(): Promise<void>;
}

/** True when a string anywhere in `value` holds an unpaired surrogate. */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return /\p{Cs}/u.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasLoneSurrogate);
  return false;
}

export async function startScriptedUpstream(script: UpstreamScript = {}): Promise<ScriptedUpstream> {
  const state: ScriptedUpstream = {
    url: '',
    script,
    bodies: [],
    refused: 0,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      state.bodies.push(body);
      const s = state.script;
      if (s.strict && hasLoneSurrogate(body)) {
        state.refused++;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: 'parse error: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF',
              type: 'invalid_request_error',
            },
          }),
        );
        return;
      }
      if (s.status !== undefined) {
        res.writeHead(s.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: s.errorMessage ?? 'failed', type: 'server_error' } }));
        return;
      }
      const answer = s.answer ?? 'ok';
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: unknown, finish: string | null) =>
          `data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.write(chunk({ role: 'assistant' }, null));
        for (const text of s.chunks ?? [answer]) res.write(chunk({ content: text }, null));
        res.write(chunk({}, 'stop'));
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'scripted',
          object: 'chat.completion',
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  state.url = `http://127.0.0.1:${address.port}/v1`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
