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
import type { LlmAnswer, LlmClient, LlmRequest } from './types.js';

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

function generatedText(json: unknown): string | undefined {
  // The API answers `[{generated_text}]`; some deployments answer the bare object.
  const first = Array.isArray(json) ? json[0] : json;
  if (typeof first !== 'object' || first === null) return undefined;
  const text = (first as Record<string, unknown>).generated_text;
  return typeof text === 'string' ? text : undefined;
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
    let text = generatedText(json);
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
