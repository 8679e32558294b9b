import { foldText } from './search/text.js';

/**
 * Cache key for a question: case (folded as search folds it), spacing and sentence punctuation do not make
 * a different question, so "What is grace?" and "what is grace" share an answer; symbols that carry
 * meaning ("2+2", "C#") are kept.
 */
export function normalizeQuery(query: string): string {
  return foldText(query)
    .replace(/[.,;:!?¿¡"'“”‘’«»()[\]{}]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
