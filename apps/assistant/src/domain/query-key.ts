/**
 * Cache key for a question: case, spacing and sentence punctuation do not make a different question, so
 * "What is grace?" and "what is grace" share an answer; symbols that carry meaning ("2+2", "C#") are kept.
 */
export function normalizeQuery(query: string): string {
  return query
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[.,;:!?¿¡"'“”‘’«»()[\]{}]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
