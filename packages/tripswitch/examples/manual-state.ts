// Seed guide: "manual state management" — code that calls the service itself reports the outcome
// (pybreaker's call_succeeded()/call_failed()), and operators force states by hand.
import { CircuitBreaker } from 'tripswitch';

export async function main(): Promise<string[]> {
  const breaker = new CircuitBreaker({ name: 'hf-manual', failMax: 2 });
  const seen: string[] = [];

  breaker.recordFailure(new Error('503 from provider'));
  seen.push(`after one failure: ${breaker.state}, failCount ${breaker.failCount}`);
  breaker.recordSuccess(); // a success resets the consecutive count
  seen.push(`after a success: failCount ${breaker.failCount}`);
  breaker.recordFailure(new Error('timeout'));
  breaker.recordFailure(new Error('timeout'));
  seen.push(`after two failures: ${breaker.state}`);

  breaker.close(); // operator override
  seen.push(`after close(): ${breaker.state}`);

  // Permits respect HALF-OPEN limits for calls the caller makes itself.
  const permit = await breaker.acquirePermit();
  permit.success();
  seen.push(`successes recorded: ${breaker.stats().totals.successes}`);

  breaker.isolate(); // hold open for maintenance
  seen.push(`isolated: ${breaker.state}, retryAfter ${breaker.retryAfter}`);
  breaker.reset();
  seen.push(`reset: ${breaker.state}`);
  return seen;
}
