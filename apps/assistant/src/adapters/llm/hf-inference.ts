// HuggingFace classic text generation: POST {baseUrl}/models/{model} with {inputs, parameters}.
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
  REFUSAL_TEXT,
  REFUSED_FINISH,
} from './types.js';

export interface HfInferenceClientOptions extends HttpClientOptions {
  /** e.g. `https://router.huggingface.co/hf-inference` or the sim's root `http://127.0.0.1:8001`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; never logged or exposed on the client object. */
  apiKey?: string;
  /** Model id, may contain a slash (`org/name`). */
  model: string;
  /** `max_new_tokens` per answer (default 512). */
  maxTokens?: number;
  temperature?: number;
}

function firstGeneration(json: unknown): Record<string, unknown> | undefined {
  // The API answers `[{generated_text}]`; some deployments answer the bare object.
  const first = Array.isArray(json) ? json[0] : json;
  return typeof first === 'object' && first !== null && !Array.isArray(first)
    ? (first as Record<string, unknown>)
    : undefined;
}

/**
 * HF's ways of saying a generation was withheld: `details.finish_reason` naming a filter (TGI and
 * OpenAI-style backends) or a `refusal` text. Returns the refusal text ('' when none), or undefined.
 */
function refusalOf(gen: Record<string, unknown>): string | undefined {
  const refusal = typeof gen.refusal === 'string' ? gen.refusal.trim() : '';
  if (refusal !== '') return refusal;
  const details = gen.details;
  const finish =
    typeof details === 'object' && details !== null
      ? (details as Record<string, unknown>).finish_reason
      : undefined;
  return typeof finish === 'string' && REFUSED_FINISH.has(finish) ? '' : undefined;
}

export class HfInferenceClient implements LlmClient {
  readonly provider = 'hf-inference' as const;
  readonly model: string;
  readonly #url: string;
  readonly #gen: GenerationSettings;
  readonly #transport: JsonTransport;

  constructor(options: HfInferenceClientOptions) {
    this.model = checkModel(options.model);
    const path = this.model.split('/').map(encodeURIComponent).join('/');
    this.#url = `${checkBaseUrl(options.baseUrl)}/models/${path}`;
    this.#gen = generationSettings(options);
    this.#transport = new JsonTransport(options);
  }

  async complete(req: LlmRequest): Promise<LlmAnswer> {
    const prompt = buildPrompt(req.question, req.passages);
    const json = await this.#transport.post(
      this.#url,
      this.#body(prompt.text),
      this.#gen.headers,
      req.signal,
    );
    return this.#answer(json, prompt.text);
  }

  /**
   * Text-generation streaming (`stream: true`, TGI's server-sent events): one event per token; the last
   * carries `generated_text`. An `error` event, or a stream that ends without its final event, fails.
   */
  async *stream(req: LlmRequest): AsyncGenerator<LlmStreamPart, void, undefined> {
    const prompt = buildPrompt(req.question, req.passages);
    const body = { ...this.#body(prompt.text), stream: true };
    let text = '';
    let finished = false;
    let finishReason: string | undefined;
    for await (const part of this.#transport.postEvents(this.#url, body, this.#gen.headers, req.signal)) {
      if (part.kind === 'json') {
        const answer = this.#answer(part.value, prompt.text);
        if (!answer.refused) yield { type: 'token', text: answer.text };
        yield { type: 'done', answer };
        return;
      }
      const event = this.#event(part.data);
      const token = event.token as Record<string, unknown> | undefined;
      if (token && token.special !== true && typeof token.text === 'string' && token.text !== '') {
        text += token.text;
        yield { type: 'token', text: token.text };
      }
      if (typeof event.generated_text === 'string') {
        finished = true;
        const details = event.details as Record<string, unknown> | null | undefined;
        if (typeof details?.finish_reason === 'string') finishReason = details.finish_reason;
        break;
      }
    }
    // A content filter's verdict arrives in the final event's details: an answer, not a fault.
    if (finished && REFUSED_FINISH.has(finishReason ?? '')) {
      const answer: LlmAnswer = {
        text: text.trim() || REFUSAL_TEXT,
        model: this.model,
        provider: this.provider,
      };
      yield { type: 'done', answer: { ...answer, refused: true, finishReason: finishReason as string } };
      return;
    }
    if (!finished) {
      throw new LlmResponseError('text generation stream ended before its final event', {
        upstreamStatus: 200,
        url: this.#url,
      });
    }
    if (text.trim() === '') {
      throw new LlmResponseError('text generation stream carried no text', {
        upstreamStatus: 200,
        url: this.#url,
      });
    }
    const answer: LlmAnswer = { text, model: this.model, provider: this.provider };
    if (finishReason !== undefined)
      answer.finishReason = finishReason === 'eos_token' ? 'stop' : finishReason;
    yield { type: 'done', answer };
  }

  #body(inputs: string): Record<string, unknown> {
    const parameters: Record<string, unknown> = {
      max_new_tokens: this.#gen.maxTokens,
      return_full_text: false,
    };
    if (this.#gen.temperature !== undefined) parameters.temperature = this.#gen.temperature;
    return { inputs, parameters };
  }

  #event(data: string): Record<string, unknown> {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      event = undefined;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new LlmResponseError('text generation stream sent an event that is not a JSON object', {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(data),
      });
    }
    const e = event as Record<string, unknown>;
    if (e.error !== undefined) {
      throw new LlmResponseError('text generation stream sent an error event', {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(data),
      });
    }
    return e;
  }

  #answer(json: unknown, promptText: string): LlmAnswer {
    const gen = firstGeneration(json);
    const refusal = gen === undefined ? undefined : refusalOf(gen);
    if (refusal !== undefined) {
      return { text: refusal || REFUSAL_TEXT, model: this.model, provider: this.provider, refused: true };
    }
    let text = typeof gen?.generated_text === 'string' ? gen.generated_text : undefined;
    // Endpoints that ignore return_full_text echo the prompt first: keep only what was generated.
    if (text?.startsWith(promptText)) text = text.slice(promptText.length);
    if (text === undefined || text.trim() === '') {
      throw new LlmResponseError('text generation response has no generated_text', {
        upstreamStatus: 200,
        url: this.#url,
        body: bodySample(JSON.stringify(json)),
      });
    }
    return { text: text.trim(), model: this.model, provider: this.provider };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
