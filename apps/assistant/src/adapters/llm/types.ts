// The model port lives in the domain (domain/llm.ts); the clients here implement it.
export type {
  LlmAnswer,
  LlmClient,
  LlmProvider,
  LlmRequest,
  LlmStreamPart,
  LlmUsage,
  Passage,
} from '../../domain/llm.js';

/** finish_reason values that mean the provider withheld the answer (OpenAI, Azure OpenAI, OpenRouter, TGI). */
export const REFUSED_FINISH: ReadonlySet<string> = new Set(['content_filter', 'refusal']);

/** What a refused answer says when the provider gave no refusal text of its own. */
export const REFUSAL_TEXT =
  "The AI assistant declined to answer this question (the model provider's content filter withheld the answer).";
