// HuggingFace classic text generation: POST {baseUrl}/models/{model} with {inputs, parameters}.
import { LlmResponseError } from './errors.js';
import { JsonTransport } from './http.js';
import {
  checkBaseUrl,
  checkModel,
  type GenerationSettings,
  generationSettings,
  type HttpClientOptions,
} from './options.js';
import { buildPrompt } from './prompt.js';
import { type LlmAnswer, type LlmClient, type LlmRequest, REFUSAL_TEXT, REFUSED_FINISH } from './types.js';

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
    const parameters: Record<string, unknown> = {
      max_new_tokens: this.#gen.maxTokens,
      return_full_text: false,
    };
    if (this.#gen.temperature !== undefined) parameters.temperature = this.#gen.temperature;
    const json = await this.#transport.post(
      this.#url,
      { inputs: prompt.text, parameters },
      this.#gen.headers,
      req.signal,
    );
    const gen = firstGeneration(json);
    const refusal = gen === undefined ? undefined : refusalOf(gen);
    if (refusal !== undefined) {
      return { text: refusal || REFUSAL_TEXT, model: this.model, provider: this.provider, refused: true };
    }
    let text = typeof gen?.generated_text === 'string' ? gen.generated_text : undefined;
    // Endpoints that ignore return_full_text echo the prompt first: keep only what was generated.
    if (text?.startsWith(prompt.text)) text = text.slice(prompt.text.length);
    if (text === undefined || text.trim() === '') {
      throw new LlmResponseError('text generation response has no generated_text', {
        upstreamStatus: 200,
        url: this.#url,
        body: JSON.stringify(json)?.slice(0, 512),
      });
    }
    return { text: text.trim(), model: this.model, provider: this.provider };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
