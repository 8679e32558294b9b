// LlmResponseError is defined in the domain (domain/llm.ts): the gateway classifies it, the clients throw it.
import { sliceCodePoints } from '../../domain/text.js';

export { LlmResponseError } from '../../domain/llm.js';

/** The start of an upstream body kept on an LlmResponseError: 512 code points, never half a pair. */
export function bodySample(text: string | undefined): string | undefined {
  return text === undefined ? undefined : sliceCodePoints(text, 512);
}
