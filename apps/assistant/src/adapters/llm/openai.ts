// OpenAI-compatible chat completions (OpenAI, the HuggingFace router at https://router.huggingface.co/v1,
// vLLM, the simulated LLM at http://127.0.0.1:8001/v1).
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
import {
  type LlmAnswer,
  type LlmClient,
  type LlmRequest,
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
    const prompt = buildPrompt(req.question, req.passages);
    const body: Record<string, unknown> = {
      model: this.model,
      messages: prompt.messages,
      max_tokens: this.#gen.maxTokens,
    };
    if (this.#gen.temperature !== undefined) body.temperature = this.#gen.temperature;
    const json = await this.#transport.post(this.#url, body, this.#gen.headers, req.signal);
    return this.#parse(json);
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
        body: JSON.stringify(json)?.slice(0, 512),
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
