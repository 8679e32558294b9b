/**
 * Cache key for a question: case, punctuation and spacing do not make a different question, so
 * "What is grace?" and "what is grace" share an answer.
 */
export function normalizeQuery(query: string): string {
  return query
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
