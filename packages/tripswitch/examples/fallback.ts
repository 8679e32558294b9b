// Seed guide: "fallback on CircuitBreakerError" — when the circuit is open, answer from the cache.
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';

const cache = new Map<string, string>([['what is grace?', 'Grace is a gift, not a wage. (cached)']]);

export async function main(
  callModel: (q: string, signal: AbortSignal) => Promise<string>,
): Promise<string[]> {
  const llm = new CircuitBreaker({ name: 'llm', failMax: 1, timeout: 1_000 });
  const ask = async (question: string): Promise<string> => {
    try {
      const answer = await llm.execute(({ signal }) => callModel(question, signal));
      cache.set(question, answer);
      return answer;
    } catch (err) {
      const cached = cache.get(question);
      if (cached) return cached;
      if (err instanceof CircuitOpenError) {
        return `AI service temporarily unavailable; retry in ${Math.ceil(err.retryAfter / 1000)} s`;
      }
      return 'AI service temporarily unavailable';
    }
  };
  return [await ask('what is grace?'), await ask('what is grace?'), await ask('who was Ruth?')];
}
