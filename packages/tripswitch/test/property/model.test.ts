// Property test: random sequences of calls, manual actions and time advances are run against the real
// breaker and against a small reference model of the intended semantics; any divergence is a bug.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

class Excluded extends Error {}

type Op =
  | { kind: 'call'; outcome: 'success' | 'failure' | 'excluded' }
  | { kind: 'advance'; ms: number }
  | { kind: 'recordSuccess' | 'recordFailure' | 'open' | 'close' | 'reset' | 'isolate' };

interface Config {
  failMax: number;
  openDuration: number;
  successThreshold: number;
  failWindow: number | undefined;
}

/** The intended semantics, written as plainly as possible. */
class Model {
  state: 'closed' | 'open' | 'half-open' | 'isolated' = 'closed';
  streak: number[] = []; // failure times of the current consecutive streak
  openUntil = 0;
  probeSuccesses = 0;
  constructor(
    private readonly c: Config,
    private readonly clock: ManualClock,
  ) {}

  failCount(): number {
    const now = this.clock.now();
    const recent = this.streak.slice(-this.c.failMax);
    if (this.c.failWindow === undefined) return recent.length;
    let live = 0;
    for (let i = recent.length - 1; i >= 0 && recent[i]! > now - this.c.failWindow; i--) live++;
    return live;
  }
  advance(): void {
    if (this.state === 'open' && this.clock.now() >= this.openUntil) {
      this.state = 'half-open';
      this.probeSuccesses = 0;
    }
  }
  toOpen(): void {
    this.state = 'open';
    this.openUntil = this.clock.now() + this.c.openDuration;
    this.streak = [];
  }
  toClosed(): void {
    this.state = 'closed';
    this.streak = [];
  }
  success(): void {
    if (this.state === 'closed') this.streak = [];
    else if (this.state === 'half-open' && ++this.probeSuccesses >= this.c.successThreshold) this.toClosed();
  }
  failure(): void {
    if (this.state === 'closed') {
      this.streak.push(this.clock.now());
      if (this.failCount() >= this.c.failMax) this.toOpen();
    } else if (this.state === 'half-open') this.toOpen();
  }
  /** Returns false when the call is rejected. */
  call(outcome: 'success' | 'failure' | 'excluded'): boolean {
    this.advance();
    if (this.state === 'open' || this.state === 'isolated') return false;
    if (outcome === 'success') this.success();
    else if (outcome === 'failure') this.failure();
    return true;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      outcome: fc.constantFrom('success', 'failure', 'excluded') as fc.Arbitrary<
        'success' | 'failure' | 'excluded'
      >,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'recordSuccess',
        'recordFailure',
        'open',
        'close',
        'reset',
        'isolate',
      ) as fc.Arbitrary<'recordSuccess' | 'recordFailure' | 'open' | 'close' | 'reset' | 'isolate'>,
    }),
  },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  failMax: fc.integer({ min: 1, max: 6 }),
  openDuration: fc.integer({ min: 0, max: 3_000 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
  failWindow: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
});

test('breaker matches the reference model on random sequences (1,000 runs)', async () => {
  await fc.assert(
    fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 80 }), async (config, ops) => {
      const clock = new ManualClock(1_000_000);
      const breaker = new CircuitBreaker({ ...config, clock, exclude: [Excluded] });
      const model = new Model(config, clock);
      for (const [i, op] of ops.entries()) {
        const where = `step ${i} (${JSON.stringify(op)})`;
        switch (op.kind) {
          case 'advance':
            clock.advance(op.ms);
            break;
          case 'call': {
            const admitted = model.call(op.outcome);
            let rejected = false;
            try {
              await breaker.execute(() => {
                if (op.outcome === 'failure') throw new Error('upstream down');
                if (op.outcome === 'excluded') throw new Excluded('bad request');
                return 'ok';
              });
            } catch (err) {
              if (err instanceof CircuitOpenError) rejected = true;
            }
            assert.equal(rejected, !admitted, `${where}: admission differs`);
            break;
          }
          case 'recordSuccess':
            model.advance();
            model.success();
            breaker.recordSuccess();
            break;
          case 'recordFailure':
            model.advance();
            model.failure();
            breaker.recordFailure(new Error('manual'));
            break;
          case 'open':
            model.toOpen();
            breaker.open();
            break;
          case 'close':
          case 'reset':
            model.toClosed();
            breaker[op.kind]();
            break;
          case 'isolate':
            model.state = 'isolated';
            model.streak = [];
            breaker.isolate();
            break;
        }
        model.advance();
        assert.equal(breaker.state, model.state, `${where}: state differs`);
        if (model.state === 'closed')
          assert.equal(breaker.failCount, model.failCount(), `${where}: failCount differs`);
      }
    }),
    { numRuns: 1_000 },
  );
});
