// Property test: random sequences of calls, manual actions and time advances are run against the real
// breaker and against a small reference model of the intended semantics; any divergence is a bug.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CircuitBreaker, CircuitOpenError } from 'tripswitch';
import { ManualClock } from '../../src/testing/manual-clock.js';

class Excluded extends Error {}

type Outcome = 'success' | 'failure' | 'excluded';
type Op =
  | { kind: 'call'; outcome: Outcome }
  // A permit reports like execute (excluded errors ignored) or is cancelled (neither outcome).
  | { kind: 'permit'; outcome: Outcome | 'cancel' }
  | { kind: 'advance'; ms: number }
  // A step of the system clock (Date.now only); with the default clock it must change nothing.
  | { kind: 'step'; ms: number }
  | {
      kind:
        | 'recordSuccess'
        | 'recordFailure'
        | 'recordExcludedFailure'
        | 'open'
        | 'close'
        | 'reset'
        | 'isolate';
    };

interface Time {
  now(): number;
}

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
    private readonly clock: Time,
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
  /** Returns false when the call is rejected. Excluded errors and cancelled permits count neither way. */
  call(outcome: Outcome | 'cancel'): boolean {
    this.advance();
    if (this.state === 'open' || this.state === 'isolated') return false;
    if (outcome === 'success') this.success();
    else if (outcome === 'failure') this.failure();
    return true;
  }
}

const outcomeArb = fc.constantFrom('success', 'failure', 'excluded') as fc.Arbitrary<Outcome>;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('permit' as const),
      outcome: fc.oneof(outcomeArb, fc.constant('cancel' as const)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      ms: fc.integer({ min: -48 * 3_600_000, max: 48 * 3_600_000 }),
    }),
  },
  {
    weight: 5,
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
        'recordExcludedFailure',
        'open',
        'close',
        'reset',
        'isolate',
      ) as fc.Arbitrary<
        'recordSuccess' | 'recordFailure' | 'recordExcludedFailure' | 'open' | 'close' | 'reset' | 'isolate'
      >,
    }),
  },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  failMax: fc.integer({ min: 1, max: 6 }),
  openDuration: fc.integer({ min: 0, max: 3_000 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
  failWindow: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
});

/**
 * Runs `ops` against a breaker and the model. `advance` moves the time both see; `step` moves only the
 * system clock (`Date.now`), which neither may notice: the model's time is the one `advance` moves.
 */
async function check(breaker: CircuitBreaker, model: Model, ops: Op[], time: { advance(ms: number): void }) {
  for (const [i, op] of ops.entries()) {
    const where = `step ${i} (${JSON.stringify(op)})`;
    switch (op.kind) {
      case 'advance':
        time.advance(op.ms);
        break;
      case 'step':
        systemOffset += op.ms;
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
      case 'permit': {
        const admitted = model.call(op.outcome);
        let permit: Awaited<ReturnType<CircuitBreaker['acquirePermit']>> | undefined;
        try {
          permit = await breaker.acquirePermit();
        } catch (err) {
          if (!(err instanceof CircuitOpenError)) throw err;
        }
        assert.equal(permit === undefined, !admitted, `${where}: permit admission differs`);
        if (op.outcome === 'success') permit?.success();
        else if (op.outcome === 'failure') permit?.failure(new Error('upstream down'));
        else if (op.outcome === 'excluded') permit?.failure(new Excluded('bad request'));
        else permit?.cancel();
        break;
      }
      case 'recordSuccess':
        model.advance();
        model.success();
        breaker.recordSuccess();
        break;
      case 'recordFailure':
      case 'recordExcludedFailure':
        // recordFailure counts unconditionally, excluded error or not (pybreaker's call_failed).
        model.advance();
        model.failure();
        breaker.recordFailure(op.kind === 'recordFailure' ? new Error('manual') : new Excluded('manual'));
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
}

// The system clock as the breaker sees it: Date.now() plus the steps taken so far.
const realDateNow = Date.now;
let systemOffset = 0;
function patchSystemClock(): () => void {
  systemOffset = 0;
  Date.now = () => realDateNow() + systemOffset;
  return () => {
    Date.now = realDateNow;
  };
}

test('breaker matches the reference model on random sequences (1,000 runs)', async () => {
  const restore = patchSystemClock();
  try {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 80 }), async (config, ops) => {
        // An injected clock drives everything; system clock steps do not touch it.
        const clock = new ManualClock(1_000_000);
        const breaker = new CircuitBreaker({ ...config, clock, exclude: [Excluded] });
        await check(breaker, new Model(config, clock), ops, clock);
      }),
      { numRuns: 1_000 },
    );
  } finally {
    restore();
  }
});

test('default clock: steps of the system clock change nothing, monotonic time drives the breaker (500 runs)', async () => {
  // performance.now() is the monotonic source: the test moves it with `advance` only; `step` moves Date.now.
  let monotonic = 1_000;
  Object.defineProperty(performance, 'now', { value: () => monotonic, configurable: true, writable: true });
  const restore = patchSystemClock();
  try {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 80 }), async (config, ops) => {
        const time = {
          now: () => monotonic,
          advance: (ms: number) => {
            monotonic += ms;
          },
        };
        const breaker = new CircuitBreaker({ ...config, exclude: [Excluded] });
        await check(breaker, new Model(config, time), ops, time);
      }),
      { numRuns: 500 },
    );
  } finally {
    restore();
    delete (performance as { now?: unknown }).now;
  }
});
