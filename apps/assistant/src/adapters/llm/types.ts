// The model port lives in the domain (domain/llm.ts); the clients here implement it.
export type { LlmAnswer, LlmClient, LlmProvider, LlmRequest, LlmUsage, Passage } from '../../domain/llm.js';
