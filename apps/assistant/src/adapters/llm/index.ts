// LLM clients behind one interface, and the factory that picks one from configuration.
import { DEFAULT_SIM_MODEL } from '../../sim/server.js';
import { HfInferenceClient } from './hf-inference.js';
import { OpenAiClient } from './openai.js';
import type { HttpClientOptions } from './options.js';
import type { LlmClient, LlmProvider } from './types.js';

export { LlmResponseError } from './errors.js';
export { HfInferenceClient, type HfInferenceClientOptions } from './hf-inference.js';
export { OpenAiClient, type OpenAiClientOptions } from './openai.js';
export type { HttpClientOptions } from './options.js';
export { buildPrompt, type ChatMessage, type ParsedPrompt, type Prompt, parsePrompt } from './prompt.js';
export type {
  LlmAnswer,
  LlmClient,
  LlmProvider,
  LlmRequest,
  LlmStreamPart,
  LlmUsage,
  Passage,
} from './types.js';

export const LLM_PROVIDERS: readonly LlmProvider[] = ['sim', 'openai', 'hf-inference'];

export const DEFAULT_BASE_URLS: Readonly<Record<LlmProvider, string>> = {
  sim: 'http://127.0.0.1:8001/v1',
  openai: 'https://api.openai.com/v1',
  'hf-inference': 'https://router.huggingface.co/hf-inference',
};

export interface LlmClientConfig extends HttpClientOptions {
  provider: LlmProvider;
  /** Defaults per provider (DEFAULT_BASE_URLS). For `sim`, the sim's root URL works too: `/v1` is added. */
  baseUrl?: string;
  apiKey?: string;
  /** Required for `openai` and `hf-inference`; `sim` defaults to the sim's model name. */
  model?: string;
  maxTokens?: number;
  temperature?: number;
}

export function createLlmClient(config: LlmClientConfig): LlmClient {
  const { provider } = config;
  if (!LLM_PROVIDERS.includes(provider)) {
    throw new TypeError(
      `provider must be one of ${LLM_PROVIDERS.join('|')}, got ${JSON.stringify(provider)}`,
    );
  }
  const baseUrl = config.baseUrl || DEFAULT_BASE_URLS[provider];
  if (provider === 'hf-inference') {
    return new HfInferenceClient({ ...config, baseUrl, model: config.model as string });
  }
  if (provider === 'sim') {
    // The sim is the OpenAI client pointed at the simulated LLM.
    const v1 = /\/v1\/?$/.test(baseUrl) ? baseUrl : `${baseUrl.replace(/\/+$/, '')}/v1`;
    return new OpenAiClient({
      ...config,
      provider: 'sim',
      baseUrl: v1,
      model: config.model || DEFAULT_SIM_MODEL,
    });
  }
  return new OpenAiClient({ ...config, provider: 'openai', baseUrl, model: config.model as string });
}
