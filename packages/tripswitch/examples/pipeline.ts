// Composing policies, outermost first: fallback → retry → bulkhead → breaker → timeout.
import { bulkhead, CircuitBreaker, fallback, pipeline, retry, timeout } from 'tripswitch';
import { isHttpFailure } from 'tripswitch/http';

export async function main(callModel: (signal: AbortSignal) => Promise<string>): Promise<string[]> {
  const breaker = new CircuitBreaker({ name: 'openai', failMax: 2, include: [isHttpFailure] });
  const policy = pipeline(
    fallback((reason) => `degraded answer (${(reason as Error).name})`),
    retry({ maxAttempts: 2, backoff: { initial: 10, max: 50 } }),
    bulkhead({ maxConcurrent: 8, maxQueue: 16, maxWaitDuration: 1_000 }),
    breaker,
    timeout(500),
  );
  const answers: string[] = [];
  for (let i = 0; i < 3; i++) answers.push(await policy.execute(({ signal }) => callModel(signal)));
  answers.push(`breaker: ${breaker.state}`);
  return answers;
}
