// Seed guide: "decorator-style wrapping" — pybreaker's @breaker on a function becomes breaker.protect(fn).
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';

export async function main(callModel: (prompt: string) => Promise<string>): Promise<string[]> {
  const huggingface = new CircuitBreaker({ name: 'huggingface', failMax: 3, openDuration: 30_000 });
  const generate = huggingface.protect(callModel); // same signature as callModel

  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      outcomes.push(await generate(`question ${i}`));
    } catch (err) {
      outcomes.push(
        err instanceof CircuitOpenError ? `rejected (${err.state})` : `failed: ${(err as Error).message}`,
      );
    }
  }
  outcomes.push(`state: ${huggingface.state}`);
  return outcomes;
}
