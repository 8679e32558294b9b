// Defined in the domain (domain/llm.ts): the gateway classifies it, the clients throw it.
export { LlmResponseError } from '../../domain/llm.js';
