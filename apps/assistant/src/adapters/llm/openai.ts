// OpenAI-compatible chat completions (OpenAI, the HuggingFace router at https://router.huggingface.co/v1,
// vLLM, the simulated LLM at http://127.0.0.1:8001/v1).
import { bodySample, LlmResponseError } from './errors.js';
import { JsonTransport } from './http.js';
import {
  checkBaseUrl,
  checkModel,
  type GenerationSettings,
  generationSettings,
  type HttpClientOptions,
} from './options.js';
import { buildPrompt } from './prompt.js';
import {
  type LlmAnswer,
  type LlmClient,
  type LlmRequest,
  type LlmStreamPart,
  type LlmUsage,
  REFUSAL_TEXT,
  REFUSED_FINISH,
} from './types.js';

export interface OpenAiClientOptions extends HttpClientOptions {
  /** Base URL up to and including the version, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; never logged or exposed on the client object. */
  apiKey?: string;
  model: string;
  /** `max_tokens` per answer (default 512). */
  maxTokens?: number;
  temperature?: number;
  /** Reported as the answer's provider; 'sim' when pointed at the simulated LLM. */
  provider?: 'openai' | 'sim';
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

function usageOf(v: unknown): LlmUsage | undefined {
  const u = record(v);
  const promptTokens = count(u?.prompt_tokens);
  const completionTokens = count(u?.completion_tokens);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  return {
    promptTokens,
    completionTokens,
    totalTokens: count(u?.total_tokens) ?? promptTokens + completionTokens,
  };
}

export class OpenAiClient implements LlmClient {
  readonly provider: 'openai' | 'sim';
  readonly model: string;
  readonly #url: string;
  readonly #gen: GenerationSettings;
  readonly #transport: JsonTransport;

  constructor(options: OpenAiClientOptions) {
    this.provider = options.provider ?? 'openai';
    this.model = checkModel(options.model);
    this.#url = `${checkBaseUrl(options.baseUrl)}/chat/completions`;
    this.#gen = generationSettings(options);
    this.#transport = new JsonTransport(options);
  }

  async complete(req: LlmRequest): Promise<LlmAnswer> {
    const json = await this.#transport.post(this.#url, this.#body(req), this.#gen.headers, req.signal);
    return this.#parse(json);
  }

  /** `stream: true` chat completion: `delta.content` chunks until `[DONE]` (OpenAI's SSE format). */
  async *stream(req: LlmRequest): AsyncGenerator<LlmStreamPart, void, undefined> {
    const body = { ...this.#body(req), stream: true };
    let text = '';
    let refusal = '';
    let model = this.model;
    let finishReason: string | undefined;
    for await (const part of this.#transport.postEvents(this.#url, body, this.#gen.headers, req.signal)) {
      if (part.kind === 'json') {
        // An endpoint that ignored `stream: true`: its whole answer is one token (a refusal is none).
        const answer = this.#parse(part.value);
        if (!answer.refused) yield { type: 'token', text: answer.text };
        yield { type: 'done', answer };
        return;
      }
      if (part.data === '[DONE]') break;
      const chunk = this.#chunk(part.data);
      if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
      const choice = Array.isArray(chunk.choices) ? record(chunk.choices[0]) : undefined;
      const delta = record(choice?.delta);
      const content = delta?.content;
      if (typeof content === 'string' && content !== '') {
        text += content;
        yield { type: 'token', text: content };
      }
      // The model's own refusal streams in `delta.refusal`; it is not answer text.
      if (typeof delta?.refusal === 'string') refusal += delta.refusal;
      if (typeof choice?.finish_reason === 'string') finishReason = choice.finish_reason;
    }
    if (finishReason === undefined) {
      throw new LlmResponseError('chat completion stream ended before the model finished', {
        upstreamStatus: 200,
        url: this.#url,
      });
    }
    // A refusal (content filter, or the model's `refusal`) is an answer, not a fault (DESIGN.md 3.1).
    if (refusal.trim() !== '' || REFUSED_FINISH.has(finishReason)) {
      const said = refusal.trim() || text.trim() || REFUSAL_TEXT;
      const answer: LlmAnswer = { text: said, model, provider: this.provider, finishReason, refused: true };
      yield { type: 'done', answer };
      return;
    }
    if (text.trim() === '') {
      throw new LlmResponseError('chat completion stream carried no text', {
        upstreamStatus: 200,
        url: this.#url,
      });
    }
    yield { type: 'done', answer: { text, model, provider: this.provider, finishReason } };
  }

  #body(req: LlmRequest): Record<string, unknown> {
    const prompt = buildPrompt(req.question, req.passages);
    const body: Record<string, unknown> = {
      model: this.model,
      messages: prompt.messages,
      max_tokens: this.#gen.maxTokens,
    };
    if (this.#gen.temperature !== undefined) body.temperature = this.#gen.temperature;
    return body;
  }

  /** One stream chunk; an `error` event or an unparsable chunk fails the stream. */
  #chunk(data: string): Record<string, unknown> {
    let chunk: Record<string, unknown> | undefined;
    try {
      chunk = record(JSON.parse(data));
    } catch {
      chunk = undefined;
    }
    if (chunk === undefined) {
      throw new LlmResponseError('chat completion stream sent a chunk that is not a JSON object', {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(data),
      });
    }
    if (chunk.error !== undefined) {
      throw new LlmResponseError('chat completion stream sent an error event', {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(data),
      });
    }
    return chunk;
  }

  #parse(json: unknown): LlmAnswer {
    const root = record(json);
    const choice = Array.isArray(root?.choices) ? record(root.choices[0]) : undefined;
    const message = record(choice?.message);
    const content = message?.content;
    const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : undefined;
    // A refusal (the content filter, or the model's own `refusal` message) is an answer, not a fault.
    const refusal = typeof message?.refusal === 'string' ? message.refusal.trim() : '';
    if (choice !== undefined && (refusal !== '' || REFUSED_FINISH.has(finishReason ?? ''))) {
      return {
        text: refusal !== '' ? refusal : REFUSAL_TEXT,
        model: typeof root?.model === 'string' && root.model !== '' ? root.model : this.model,
        provider: this.provider,
        refused: true,
        ...(finishReason !== undefined ? { finishReason } : {}),
      };
    }
    if (typeof content !== 'string' || content.trim() === '') {
      const why = choice === undefined ? 'has no choices[0]' : 'has no text in choices[0].message.content';
      throw new LlmResponseError(`chat completion ${why}`, {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(JSON.stringify(json)),
      });
    }
    const answer: LlmAnswer = {
      text: content.trim(),
      model: typeof root?.model === 'string' && root.model !== '' ? root.model : this.model,
      provider: this.provider,
    };
    const usage = usageOf(root?.usage);
    if (usage) answer.usage = usage;
    if (finishReason !== undefined) answer.finishReason = finishReason;
    return answer;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
