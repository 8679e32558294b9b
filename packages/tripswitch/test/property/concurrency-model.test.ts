// Model-based property test for overlapping calls (DESIGN 2.2): many calls in flight at once through
// `execute`, `tryExecute`, `acquirePermit` and `stream`, finishing in any order (success, failure, excluded
// error, timeout, caller abort / consumer break), with manual `open`/`close`/`isolate`/`disable`/`reset`/
// `recordSuccess`/`recordFailure` between them, time advancing in small steps, jumping by hours or landing
// exactly on a deadline, and the system clock stepping. After every step each caller's outcome, and after
// most steps the breaker's `state`, `stats()` (totals, generation, failCount, half-open figures, retryAfter,
// openUntil, window, lastFailure/At) and its events, are compared with a reference model written from the
// rules alone (the steps nobody looks at check that lazy transitions do not depend on being looked at):
//
// - a generation number, bumped by every transition; an outcome changes the state only in the generation
//   its call was admitted in (stale results count in the totals, never in the state);
// - outcomes of calls admitted before `reset()`, and of HALF-OPEN probes written off by `halfOpenTimeout`,
//   count nowhere (F2, F9); the write-off happens at the deadline, whether or not anyone looks (F1, M1-M5
//   in test/outsider/model-faults.test.ts were found here). Each probe in flight has its own deadline,
//   `halfOpenTimeout` after its last sign of life: its admission, then each chunk of a stream probe (a
//   chunk of a stream from an earlier generation moves nothing); the first deadline to pass writes the
//   generation off;
// - CLOSED trips on `failMax` consecutive failures (within `failWindow`) or the failure-rate rule; OPEN
//   lasts `openDuration` (a backoff of consecutive openings; re-opening an open circuit is not a new
//   opening, F7); HALF-OPEN admits `halfOpenMaxCalls` probes at once, closes after `successThreshold`
//   probe successes, reopens on a probe failure;
// - the caller's abort and excluded errors are neither outcome (a probe's slot is freed); the breaker's
//   `timeout` and a stream's first-chunk / idle deadline are failures counted in `timeouts`; a caller
//   whose signal is already aborted gets its own reason and is neither a call nor a rejection (F8).
//
// Time is simulated: `performance.now()` (the breaker's default monotonic clock and its deadline queues)
// and `setTimeout` are replaced by a fake clock and fake timers for the duration of each run, so deadlines
// fire in order at their exact instants whatever the machine's load. The breaker module is loaded after
// `performance.now` is replaced, so the monotonic clock's epoch is a whole number and model and breaker
// compute with the same exact times. fast-check prints the seed and the shrunk sequence on failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CircuitBreaker as Breaker, CircuitBreakerOptions, Permit, StreamIterator } from 'tripswitch';
import { FakeTime, flush } from '../helpers/fake-time.js';

// ---------------------------------------------------------------- simulated time

const fake = new FakeTime();
fake.patchPerformanceNow(); // for the whole file: before the breaker module loads (see above)

const { CircuitBreaker, CircuitOpenError, TimeoutError, StreamAbandonedError, neverAbortedSignal } =
  await import('tripswitch');
const { monotonicClock } = await import('../../src/core/types.js');
/** The default clock's offset from `performance.now()`: a whole number, see above. */
const MONO_EPOCH = monotonicClock.now() - performance.now();

// ---------------------------------------------------------------- configuration and operations

class Excluded extends Error {}

type Via = 'execute' | 'tryExecute' | 'permit' | 'stream';
type Finish = 'success' | 'failure' | 'excluded' | 'timedOut';
type Manual =
  | 'open'
  | 'close'
  | 'isolate'
  | 'disable'
  | 'reset'
  | 'recordSuccess'
  | 'recordFailure'
  | 'recordExcluded';
type Op =
  /** `signal`: the caller's own (permits have none); 'aborted' = already aborted when the call starts. */
  | { kind: 'start'; via: Via; signal: 'none' | 'live' | 'aborted' }
  | { kind: 'finish'; pick: number; outcome: Finish }
  /** The caller's signal aborts (execute, tryExecute, stream with a signal); a permit is cancelled; a stream without a signal is closed by its consumer. */
  | { kind: 'abort'; pick: number }
  | { kind: 'chunk'; pick: number }
  | { kind: 'advance'; ms: number }
  /** Move to the model's next deadline (open period end, probe write-off, call deadline), plus `delta`. */
  | { kind: 'toDeadline'; delta: number }
  | { kind: 'step'; ms: number }
  | { kind: 'manual'; action: Manual };

interface Config {
  failMax: number | undefined;
  failWindow: number | undefined;
  openDuration: number;
  /** openDuration grows with consecutive openings: `openDuration × openings`. */
  backoff: boolean;
  halfOpenMaxCalls: number;
  successThreshold: number;
  halfOpenTimeout: number;
  timeout: number | undefined;
  firstChunk: number | undefined;
  idle: number | undefined;
  failureRate:
    | { threshold: number; minimumCalls: number; windowType: 'time'; window: number; buckets: number }
    | { threshold: number; minimumCalls: number; windowType: 'count'; windowSize: number }
    | undefined;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  failMax: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 4 }),
  failWindow: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }),
  openDuration: fc.integer({ min: 0, max: 2_000 }),
  backoff: fc.boolean(),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
  halfOpenTimeout: fc.integer({ min: 1, max: 2_000 }),
  timeout: fc.option(fc.integer({ min: 1, max: 2_500 }), { nil: undefined, freq: 3 }),
  firstChunk: fc.option(fc.integer({ min: 1, max: 2_500 }), { nil: undefined }),
  idle: fc.option(fc.integer({ min: 1, max: 2_500 }), { nil: undefined }),
  failureRate: fc.option(
    fc.oneof(
      fc.record({
        threshold: fc.constantFrom(0.25, 0.5, 0.75, 1),
        minimumCalls: fc.integer({ min: 1, max: 5 }),
        windowType: fc.constant('time' as const),
        window: fc.integer({ min: 100, max: 5_000 }),
        buckets: fc.integer({ min: 1, max: 6 }),
      }),
      fc.record({
        threshold: fc.constantFrom(0.25, 0.5, 0.75, 1),
        minimumCalls: fc.integer({ min: 1, max: 5 }),
        windowType: fc.constant('count' as const),
        windowSize: fc.integer({ min: 1, max: 6 }),
      }),
    ),
    { nil: undefined, freq: 3 },
  ),
});

const pick = fc.nat({ max: 1_000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('start' as const),
      via: fc.constantFrom<Via>('execute', 'execute', 'tryExecute', 'permit', 'stream'),
      signal: fc.constantFrom(
        'none' as const,
        'none' as const,
        'live' as const,
        'live' as const,
        'aborted' as const,
      ),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      pick,
      outcome: fc.constantFrom<Finish>('success', 'success', 'failure', 'failure', 'excluded', 'timedOut'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('chunk' as const), pick }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('toDeadline' as const),
      delta: fc.integer({ min: -1, max: 1 }),
    }),
  },
  {
    // A jump of the monotonic clock (a suspended VM, a long idle gap): hours at once.
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 3_600_000, max: 48 * 3_600_000 }),
    }),
  },
  {
    // A step of the system clock, forward or back: changes no duration.
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      ms: fc.integer({ min: -48 * 3_600_000, max: 48 * 3_600_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('manual' as const),
      action: fc.constantFrom<Manual>(
        'open',
        'close',
        'isolate',
        'disable',
        'reset',
        'reset',
        'recordSuccess',
        'recordFailure',
        'recordExcluded',
      ),
    }),
  },
);

// ---------------------------------------------------------------- the reference model

type State = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';
type Outcome = 'success' | 'failure' | 'timeout' | 'ignored';

interface ModelCall {
  id: number;
  via: Via;
  withSignal: boolean;
  /** Admitted while disabled: runs unguarded, counts nowhere. */
  tracked: boolean;
  gen: number;
  probe: boolean;
  pending: boolean;
  /** Clock time of this call's own deadline (breaker timeout, stream first-chunk or idle), if any. */
  due: number | undefined;
  chunks: number;
  /** A probe's last sign of life (clock time): its admission, then each chunk of a stream probe. */
  lastSign: number;
  /** What the caller sees in the end: 'value', 'error', 'timeout', 'caller', 'abandoned', 'admitted' (permit), 'rejected:<state>'. */
  expected: string | undefined;
  /** ms a rejection tells the caller to wait. */
  retryAfter?: number;
}

interface Time {
  /** The breaker's clock now. */
  now(): number;
  /** The reported (wall) time at clock time `t`. */
  wallAt(t: number): number;
}

/** The intended semantics, kept plain: lists instead of rings, eager time-driven transitions. */
class Model {
  state: State = 'closed';
  gen = 0;
  /** Calls admitted in a generation below this were admitted before the last reset(). */
  epoch = 0;
  streak: number[] = [];
  window: Array<{ t: number; failed: boolean }> = [];
  openUntil = 0;
  openings = 0;
  probes = 0;
  probeSuccesses = 0;
  writtenOff = new Set<number>();
  totals = { calls: 0, successes: 0, failures: 0, rejections: 0, ignored: 0, timeouts: 0, openings: 0 };
  lastFailureAt: number | null = null;
  /** `name` of the last counted failure's error (`stats().lastFailure`). */
  lastFailureName: string | null = null;
  /**
   * A write-off is dated when the breaker notices it: its deadline on the monotonic clock, converted to
   * epoch ms with the system clock of that moment. If the system clock stepped between the deadline and the
   * next look, the date may be taken with any of the system clocks in between: these are the candidates.
   */
  writeOffDates: { at: number; candidates: Set<number> } | undefined;
  transitions: Array<[State, State]> = [];
  events = { failure: 0, success: 0, ignored: 0, rejected: 0 };
  calls: ModelCall[] = [];

  constructor(
    readonly c: Config,
    readonly time: Time,
  ) {}

  get failMax(): number {
    return this.c.failMax ?? 5;
  }

  pending(): ModelCall[] {
    return this.calls.filter((x) => x.pending);
  }

  /** Failures counting toward failMax: the newest of the streak (at most failMax), within failWindow. */
  liveFailures(now: number): number {
    const recent = this.streak.slice(-this.failMax);
    if (this.c.failWindow === undefined) return this.streak.length;
    return recent.filter((t) => t > now - this.c.failWindow!).length;
  }

  windowTotals(now: number): { calls: number; failures: number } {
    const fr = this.c.failureRate;
    let live = this.window;
    if (fr === undefined) return { calls: 0, failures: 0 };
    if (fr.windowType === 'count') live = live.slice(-fr.windowSize);
    else {
      // Buckets of window/buckets ms: the window is the current bucket and the buckets-1 before it.
      const bucketMs = fr.window / fr.buckets;
      const current = Math.floor(now / bucketMs);
      live = live.filter((e) => {
        const slice = Math.floor(e.t / bucketMs);
        return slice > current - fr.buckets && slice <= current;
      });
    }
    return { calls: live.length, failures: live.filter((e) => e.failed).length };
  }

  shouldTrip(now: number): boolean {
    if (
      (this.c.failMax !== undefined || this.c.failureRate === undefined) &&
      this.liveFailures(now) >= this.failMax
    )
      return true;
    const fr = this.c.failureRate;
    if (fr === undefined) return false;
    const w = this.windowTotals(now);
    return w.calls >= fr.minimumCalls && w.failures / w.calls >= fr.threshold;
  }

  transition(to: State, t: number): void {
    const from = this.state;
    this.gen++;
    this.state = to;
    this.probes = 0;
    this.probeSuccesses = 0;
    if (to === 'closed' || to === 'disabled') {
      this.streak = [];
      this.openings = 0;
      this.window = [];
    } else if (to === 'open') {
      if (from !== 'open') {
        this.openings++;
        this.totals.openings++;
      }
      this.openUntil = t + (this.c.backoff ? this.c.openDuration * this.openings : this.c.openDuration);
    } else if (to === 'isolated' && from !== 'isolated') {
      this.totals.openings++;
    }
    if (from !== to) this.transitions.push([from, to]);
  }

  /** The first probe write-off deadline: `halfOpenTimeout` after the oldest last sign of life in flight. */
  probeDeadline(): number | undefined {
    if (this.state !== 'half-open') return undefined;
    let at: number | undefined;
    for (const call of this.calls) {
      if (!call.pending || !call.probe || call.gen !== this.gen) continue;
      const due = call.lastSign + this.c.halfOpenTimeout;
      if (at === undefined || due < at) at = due;
    }
    return at;
  }

  /** Every time-driven event up to `now`, in time order: open period ends, probe write-offs, call deadlines. */
  advanceTo(now: number): void {
    for (;;) {
      let at = Number.POSITIVE_INFINITY;
      let what: 'halfOpen' | 'writeOff' | ModelCall | undefined;
      if (this.state === 'open' && this.openUntil <= now) {
        at = this.openUntil;
        what = 'halfOpen';
      }
      const writeOff = this.probeDeadline();
      if (writeOff !== undefined && writeOff <= now) {
        at = writeOff;
        what = 'writeOff';
      }
      // A call's deadline at the same instant comes after the breaker's own (a probe's timeout at its
      // write-off instant finds it written off already); among calls, the earlier admitted first.
      for (const call of this.calls) {
        if (call.pending && call.due !== undefined && call.due <= now && call.due < at) {
          at = call.due;
          what = call;
        }
      }
      if (what === undefined) return;
      if (what === 'halfOpen') this.transition('half-open', at);
      else if (what === 'writeOff') {
        // This generation's hung probes are written off: one failure, one timeout; late results count nowhere.
        this.writtenOff.add(this.gen);
        this.totals.failures++;
        this.totals.timeouts++;
        this.lastFailureAt = this.time.wallAt(at);
        this.lastFailureName = 'TimeoutError';
        this.writeOffDates = { at, candidates: new Set([this.lastFailureAt]) };
        this.events.failure++;
        this.transition('open', at);
      } else {
        what.due = undefined;
        this.settle(what, 'timeout', at);
        what.expected = 'timeout';
      }
    }
  }

  /** The earliest future time-driven event (for `toDeadline`). */
  nextDeadline(): number | undefined {
    const times: number[] = [];
    if (this.state === 'open') times.push(this.openUntil);
    const writeOff = this.probeDeadline();
    if (writeOff !== undefined) times.push(writeOff);
    for (const call of this.calls) if (call.pending && call.due !== undefined) times.push(call.due);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  retryAfter(now: number): number {
    if (this.state === 'open') return Math.max(0, this.openUntil - now);
    if (this.state === 'isolated') return Number.POSITIVE_INFINITY;
    if (this.state === 'half-open' && this.probes >= this.c.halfOpenMaxCalls)
      return Math.max(0, this.probeDeadline()! - now);
    return 0;
  }

  start(id: number, via: Via, signal: 'none' | 'live' | 'aborted'): ModelCall {
    const withSignal = via !== 'permit' && signal !== 'none';
    const now = this.time.now();
    const call: ModelCall = {
      id,
      via,
      withSignal,
      tracked: true,
      gen: this.gen,
      probe: false,
      pending: true,
      due: undefined,
      chunks: 0,
      lastSign: now,
      expected: undefined,
    };
    this.calls.push(call);
    if (withSignal && signal === 'aborted') {
      // The caller gave up before the call: its reason, in any state; not a call, not a rejection (F8).
      call.pending = false;
      call.expected = 'caller';
      return call;
    }
    if (this.state === 'disabled') {
      call.tracked = false;
    } else if (this.state === 'closed') {
      this.totals.calls++;
    } else if (this.state === 'half-open' && this.probes < this.c.halfOpenMaxCalls) {
      this.probes++;
      call.probe = true;
      this.totals.calls++;
    } else {
      // Rejected at once, whichever entry point.
      call.pending = false;
      call.expected = `rejected:${this.state}`;
      call.retryAfter =
        this.state === 'open'
          ? this.openUntil - now
          : this.state === 'isolated'
            ? Number.POSITIVE_INFINITY
            : this.probeDeadline()! - now;
      this.totals.rejections++;
      this.events.rejected++;
      return call;
    }
    if (via === 'permit') call.expected = 'admitted';
    // The breaker's timeout guards execute and tryExecute (not a disabled breaker's unguarded calls);
    // a stream's first-chunk deadline runs from admission in any state.
    if ((via === 'execute' || via === 'tryExecute') && call.tracked && this.c.timeout !== undefined)
      call.due = now + this.c.timeout;
    if (via === 'stream' && this.c.firstChunk !== undefined) call.due = now + this.c.firstChunk;
    return call;
  }

  finish(call: ModelCall, outcome: Finish): void {
    call.due = undefined;
    const kind: Outcome =
      outcome === 'success'
        ? 'success'
        : outcome === 'excluded'
          ? 'ignored'
          : outcome === 'timedOut' && call.via === 'permit'
            ? 'timeout'
            : 'failure';
    this.settle(call, kind, this.time.now());
    if (call.via !== 'permit') call.expected = outcome === 'success' ? 'value' : 'error';
  }

  abort(call: ModelCall): void {
    if ((call.via === 'execute' || call.via === 'tryExecute') && !call.withSignal) return; // nothing to abort
    call.due = undefined;
    this.settle(call, 'ignored', this.time.now());
    if (call.via !== 'permit')
      call.expected = call.via === 'stream' && !call.withSignal ? 'abandoned' : 'caller';
  }

  chunk(call: ModelCall): void {
    if (call.via !== 'stream') return;
    call.chunks++;
    // A chunk is a sign of life of a probe of this generation (a stream of an older one moves nothing).
    if (call.probe && call.pending && call.gen === this.gen && this.state === 'half-open')
      call.lastSign = this.time.now();
    // The consumer asks for the next chunk at once: from now on the idle deadline runs.
    call.due = this.c.idle === undefined ? undefined : this.time.now() + this.c.idle;
  }

  /** One outcome of a call, at clock time `t`. */
  settle(call: ModelCall, kind: Outcome, t: number): void {
    call.pending = false;
    if (!call.tracked) return;
    // Admitted before reset(), or a probe already written off: counts nowhere.
    if (call.gen < this.epoch || (call.probe && this.writtenOff.has(call.gen))) return;
    const current = call.gen === this.gen;
    if (kind === 'ignored') {
      this.totals.ignored++;
      this.events.ignored++;
      if (call.probe && current && this.state === 'half-open' && this.probes > 0) this.probes--;
      return;
    }
    if (kind === 'success') {
      this.totals.successes++;
      this.events.success++;
      if (!current) return; // stale: counted, but changes no state
      if (this.state === 'closed') {
        this.streak = [];
        if (this.c.failureRate !== undefined) this.window.push({ t, failed: false });
        if (this.shouldTrip(t)) this.transition('open', t);
      } else if (this.state === 'half-open') {
        if (call.probe) this.probes--;
        // A manual recordSuccess() in HALF-OPEN counts as a probe success.
        if (++this.probeSuccesses >= this.c.successThreshold) this.transition('closed', t);
      }
      return;
    }
    this.totals.failures++;
    if (kind === 'timeout') this.totals.timeouts++;
    this.lastFailureAt = this.time.wallAt(t);
    this.lastFailureName = kind === 'timeout' ? 'TimeoutError' : 'Error';
    this.writeOffDates = undefined;
    this.events.failure++;
    if (!current) return;
    if (this.state === 'closed') {
      this.streak.push(t);
      if (this.c.failureRate !== undefined) this.window.push({ t, failed: true });
      if (this.shouldTrip(t)) this.transition('open', t);
    } else if (this.state === 'half-open') {
      this.transition('open', t);
    }
  }

  manual(action: Manual): void {
    const now = this.time.now();
    switch (action) {
      case 'open':
        this.transition('open', now);
        break;
      case 'close':
        this.transition('closed', now);
        break;
      case 'isolate':
        this.transition('isolated', now);
        break;
      case 'disable':
        this.transition('disabled', now);
        break;
      case 'reset':
        this.transition('closed', now);
        this.epoch = this.gen;
        this.writtenOff.clear();
        this.lastFailureAt = null;
        this.lastFailureName = null;
        this.writeOffDates = undefined;
        this.totals = {
          calls: 0,
          successes: 0,
          failures: 0,
          rejections: 0,
          ignored: 0,
          timeouts: 0,
          openings: 0,
        };
        break;
      default: {
        if (this.state === 'disabled') return;
        const call = { tracked: true, gen: this.gen, probe: false, pending: true } as ModelCall;
        this.settle(call, action === 'recordSuccess' ? 'success' : 'failure', now); // recordFailure counts unconditionally
      }
    }
  }
}

// ---------------------------------------------------------------- the real breaker, driven alike

interface RealCall {
  via: Via;
  controller: AbortController | undefined;
  upstreamError: Error | undefined;
  /** execute / tryExecute: settles the operation. */
  op?: { resolve(v: number): void; reject(e: unknown): void };
  permit?: Permit;
  stream?: StreamIterator<number>;
  /** The stream's pending upstream `next()`. */
  upstream?: { resolve(r: IteratorResult<number>): void; reject(e: unknown): void };
  result: string | undefined;
  settlements: number;
  retryAfter?: number;
  chunks: number;
}

interface Variant {
  label: string;
  /** undefined: the default (monotonic) clock; else an injected clock at this origin. */
  origin: number | undefined;
}

async function run(config: Config, steps: Array<{ op: Op; look: boolean }>, variant: Variant): Promise<void> {
  const realDateNow = Date.now;
  let wallOffset = 0;
  const WALL0 = 1_800_000_000_000;
  const injected = variant.origin === undefined ? undefined : { now: () => variant.origin! + fake.now };
  const clockNow = () => (injected ? injected.now() : MONO_EPOCH + fake.now);
  const time: Time = {
    now: clockNow,
    // Reported times: the injected clock, else Date.now (here WALL0 + fake.now + the system clock's steps).
    wallAt: (t) => (injected ? t : WALL0 + (t - MONO_EPOCH) + wallOffset),
  };
  fake.install();
  Date.now = () => WALL0 + fake.now + wallOffset;
  try {
    const options: CircuitBreakerOptions = {
      halfOpenMaxCalls: config.halfOpenMaxCalls,
      successThreshold: config.successThreshold,
      halfOpenTimeout: config.halfOpenTimeout,
      openDuration: config.backoff ? ({ openings }) => config.openDuration * openings : config.openDuration,
      exclude: [Excluded],
    };
    if (config.failMax !== undefined) options.failMax = config.failMax;
    if (config.failWindow !== undefined) options.failWindow = config.failWindow;
    if (config.timeout !== undefined) options.timeout = config.timeout;
    if (config.firstChunk !== undefined || config.idle !== undefined)
      options.streamTimeout = { firstChunk: config.firstChunk, idle: config.idle };
    if (config.failureRate !== undefined) options.failureRate = config.failureRate;
    if (injected !== undefined) options.clock = injected;
    const b: Breaker = new CircuitBreaker(options);
    const model = new Model(config, time);

    const transitions: Array<[string, string]> = [];
    const events = { failure: 0, success: 0, ignored: 0, rejected: 0 };
    b.on('stateChange', (from, to) => void transitions.push([from, to]));
    b.on('failure', () => void events.failure++);
    b.on('success', () => void events.success++);
    b.on('ignored', () => void events.ignored++);
    b.on('rejected', () => void events.rejected++);

    const real: RealCall[] = [];
    const record = (call: RealCall, result: string) => {
      call.settlements++;
      call.result = result;
    };
    const classify = (call: RealCall, err: unknown): string => {
      if (err instanceof CircuitOpenError) {
        call.retryAfter = err.retryAfter;
        return `rejected:${err.state}`;
      }
      if (err instanceof TimeoutError) {
        const ms = call.via === 'stream' ? [config.firstChunk, config.idle] : [config.timeout];
        return ms.includes(err.timeoutMs) ? 'timeout' : `wrong timeout ${err.timeoutMs}`;
      }
      if (err !== undefined && err === call.upstreamError) return 'error';
      if (call.controller !== undefined && err === call.controller.signal.reason) return 'caller';
      if (err instanceof StreamAbandonedError) return 'abandoned';
      return `unexpected ${String(err)}`;
    };

    const startReal = (via: Via, signalKind: 'none' | 'live' | 'aborted', id: number): RealCall => {
      const withSignal = signalKind !== 'none';
      const call: RealCall = {
        via,
        controller: withSignal && via !== 'permit' ? new AbortController() : undefined,
        upstreamError: undefined,
        result: undefined,
        settlements: 0,
        chunks: 0,
      };
      if (signalKind === 'aborted') call.controller?.abort(new Error(`caller ${id} left early`));
      const signal = call.controller?.signal;
      if (via === 'execute' || via === 'tryExecute') {
        const op = ({ signal: own }: { signal: AbortSignal }) =>
          new Promise<number>((resolve, reject) => {
            call.op = { resolve, reject };
            // An operation that honours its signal: the caller's abort or the breaker's timeout ends it
            // (the shared never-aborted signal of calls that have neither is left alone).
            if (own !== neverAbortedSignal)
              own.addEventListener('abort', () => reject(own.reason), { once: true });
          });
        if (via === 'execute') {
          b.execute(op, signal).then(
            (v) => record(call, v === id ? 'value' : `wrong value ${v}`),
            (e: unknown) => record(call, classify(call, e)),
          );
        } else {
          b.tryExecute(op, signal).then((r) =>
            record(
              call,
              r.ok ? (r.value === id ? 'value' : `wrong value ${r.value}`) : classify(call, r.error),
            ),
          );
        }
      } else if (via === 'permit') {
        b.acquirePermit().then(
          (p) => {
            call.permit = p;
            record(call, 'admitted');
          },
          (e: unknown) => record(call, classify(call, e)),
        );
      } else {
        const upstream: AsyncIterator<number> = {
          next: () =>
            new Promise<IteratorResult<number>>((resolve, reject) => {
              call.upstream = { resolve, reject };
            }),
          return: () => Promise.resolve({ done: true, value: undefined }),
        };
        const it = b.stream(() => ({ [Symbol.asyncIterator]: () => upstream }), signal);
        call.stream = it;
        (async () => {
          for (;;) {
            const r = await it.next();
            if (r.done) return 'value';
            call.chunks++;
          }
        })().then(
          (r) => record(call, r),
          (e: unknown) => record(call, classify(call, e)),
        );
      }
      return call;
    };

    const advance = (ms: number) => fake.advance(ms);

    for (const [i, { op, look }] of steps.entries()) {
      const where = () => `[${variant.label}] step ${i} ${JSON.stringify(op)}`;
      const pendingModel = model.pending();
      const target =
        pendingModel.length === 0
          ? undefined
          : pendingModel[(op as { pick?: number }).pick! % pendingModel.length];
      switch (op.kind) {
        case 'start': {
          const id = model.calls.length;
          model.start(id, op.via, op.signal);
          real.push(startReal(op.via, op.signal, id));
          break;
        }
        case 'finish': {
          if (target === undefined) break;
          const call = real[target.id]!;
          model.finish(target, op.outcome);
          const err =
            op.outcome === 'excluded' ? new Excluded('bad request') : new Error(`upstream ${target.id}`);
          if (op.outcome !== 'success') call.upstreamError = err;
          if (call.via === 'permit') {
            const p = call.permit!;
            if (op.outcome === 'success') p.success();
            else if (op.outcome === 'timedOut') p.timedOut(new TimeoutError(1));
            else p.failure(err);
          } else if (call.via === 'stream') {
            if (op.outcome === 'success') call.upstream!.resolve({ done: true, value: undefined });
            else call.upstream!.reject(err);
          } else if (op.outcome === 'success') call.op!.resolve(target.id);
          else call.op!.reject(err);
          break;
        }
        case 'abort': {
          if (target === undefined) break;
          const call = real[target.id]!;
          model.abort(target);
          if (call.via === 'permit') call.permit!.cancel();
          else if (call.controller !== undefined)
            call.controller.abort(new Error(`caller ${target.id} left`));
          else if (call.via === 'stream') void call.stream!.return();
          break;
        }
        case 'chunk': {
          if (target === undefined || target.via !== 'stream') break;
          model.chunk(target);
          real[target.id]!.upstream!.resolve({ done: false, value: target.chunks });
          break;
        }
        case 'advance':
          await advance(op.ms);
          break;
        case 'toDeadline': {
          const next = model.nextDeadline();
          if (next !== undefined) await advance(Math.max(0, next + op.delta - clockNow()));
          break;
        }
        case 'step':
          wallOffset += op.ms;
          model.writeOffDates?.candidates.add(time.wallAt(model.writeOffDates.at));
          break;
        case 'manual':
          model.manual(op.action);
          if (op.action === 'recordExcluded') b.recordFailure(new Excluded('manual'));
          else if (op.action === 'recordFailure') b.recordFailure(new Error('manual'));
          else if (op.action === 'recordSuccess') b.recordSuccess();
          else b[op.action]();
          break;
      }
      await flush();
      model.advanceTo(clockNow());

      // Every caller's outcome so far (reading these does not touch the breaker).
      for (const m of model.calls) {
        const r = real[m.id]!;
        assert.equal(r.result, m.expected, `${where()}: call ${m.id} (${m.via}) outcome`);
        assert.ok(r.settlements <= 1, `${where()}: call ${m.id} settled ${r.settlements} times`);
        if (m.retryAfter !== undefined)
          assert.equal(r.retryAfter, m.retryAfter, `${where()}: call ${m.id} retryAfter`);
      }
      // A step nobody looks at: time-driven transitions stay due until the next read, which must find
      // everything as if they had happened at their instant.
      if (!look) continue;
      const now = clockNow();
      assert.equal(b.state, model.state, `${where()}: state`);
      const s = b.stats();
      assert.deepEqual(s.totals, model.totals, `${where()}: totals`);
      assert.equal(s.generation, model.gen, `${where()}: generation`);
      if (model.state === 'closed')
        assert.equal(s.failCount, model.liveFailures(now), `${where()}: failCount`);
      assert.deepEqual(
        s.halfOpen,
        model.state === 'half-open' ? { inFlight: model.probes, successes: model.probeSuccesses } : null,
        `${where()}: halfOpen`,
      );
      assert.equal(s.retryAfter, model.retryAfter(now), `${where()}: retryAfter`);
      assert.equal(
        s.openUntil,
        model.state === 'open' ? time.wallAt(model.openUntil) : null,
        `${where()}: openUntil`,
      );
      if (config.failureRate !== undefined) {
        const w = model.windowTotals(now);
        assert.deepEqual([s.window?.calls, s.window?.failures], [w.calls, w.failures], `${where()}: window`);
      }
      if (model.writeOffDates !== undefined && s.lastFailureAt !== null) {
        const { candidates } = model.writeOffDates;
        assert.ok(
          candidates.has(s.lastFailureAt),
          `${where()}: lastFailureAt ${s.lastFailureAt} not in ${[...candidates]}`,
        );
        model.lastFailureAt = s.lastFailureAt; // noticed now: fixed from here on
        model.writeOffDates = undefined;
      }
      assert.equal(s.lastFailureAt, model.lastFailureAt, `${where()}: lastFailureAt`);
      assert.equal(s.lastFailure?.name ?? null, model.lastFailureName, `${where()}: lastFailure`);
      assert.deepEqual(transitions, model.transitions, `${where()}: stateChange events`);
      assert.deepEqual(events, model.events, `${where()}: events`);
    }

    // Finish whatever is still running (the caller gives up), then no timer may keep the process alive.
    for (const m of model.pending()) {
      const r = real[m.id]!;
      if (r.controller !== undefined) r.controller.abort(new Error('test over'));
      else if (r.via === 'stream') void r.stream!.return();
      else if (r.via === 'permit') r.permit!.cancel();
      else r.op!.resolve(m.id);
    }
    await flush();
    await flush();
    assert.equal(
      fake.refedTimers(),
      0,
      `[${variant.label}] a ref'ed timer is left after the last call settled`,
    );
  } finally {
    fake.uninstall();
    Date.now = realDateNow;
  }
}

/** `FC_SEED=<n> [FC_RUNS=<n>]` replays a reported failure (fast-check prints the seed and path). */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
};
const runs = (n: number) => Number(process.env.FC_RUNS ?? n);

/** Steps; after most of them the breaker is read and compared, after some nobody looks. */
const seqArb = fc.array(
  fc.record({ op: opArb, look: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)) }),
  { minLength: 1, maxLength: 60, size: 'max' },
);

/**
 * Sequences every run tries first (fast-check `examples`): HALF-OPEN probe streams whose chunks move their
 * own write-off deadline, and only their own (the random search finds these only now and then).
 */
const probeConfig = (halfOpenMaxCalls: number, successThreshold: number): Config => ({
  failMax: undefined,
  failWindow: undefined,
  openDuration: 0,
  backoff: false,
  halfOpenMaxCalls,
  successThreshold,
  halfOpenTimeout: 10,
  timeout: undefined,
  firstChunk: undefined,
  idle: undefined,
  failureRate: undefined,
});
const at = (op: Op) => ({ op, look: true });
const probeExamples: Array<[Config, Array<{ op: Op; look: boolean }>]> = [
  // One probe stream: each chunk restarts its halfOpenTimeout; it outlives the timeout, then closes.
  [
    probeConfig(1, 1),
    [
      at({ kind: 'manual', action: 'open' }),
      at({ kind: 'start', via: 'stream', signal: 'none' }),
      at({ kind: 'advance', ms: 6 }),
      at({ kind: 'chunk', pick: 0 }),
      at({ kind: 'start', via: 'execute', signal: 'none' }),
      at({ kind: 'advance', ms: 6 }),
      at({ kind: 'chunk', pick: 0 }),
      at({ kind: 'advance', ms: 9 }),
      at({ kind: 'finish', pick: 0, outcome: 'success' }),
    ],
  ],
  // A hung execute probe next to a streaming one: the stream's chunks do not keep the hung one alive.
  [
    probeConfig(2, 2),
    [
      at({ kind: 'manual', action: 'open' }),
      at({ kind: 'start', via: 'execute', signal: 'none' }),
      at({ kind: 'start', via: 'stream', signal: 'none' }),
      at({ kind: 'advance', ms: 6 }),
      at({ kind: 'chunk', pick: 1 }),
      at({ kind: 'advance', ms: 6 }),
      at({ kind: 'chunk', pick: 1 }),
    ],
  ],
  // A stalled probe stream next to a streaming one: written off 10 ms after its own last chunk.
  [
    probeConfig(2, 2),
    [
      at({ kind: 'manual', action: 'open' }),
      at({ kind: 'start', via: 'stream', signal: 'none' }),
      at({ kind: 'start', via: 'stream', signal: 'none' }),
      at({ kind: 'advance', ms: 4 }),
      at({ kind: 'chunk', pick: 0 }),
      at({ kind: 'chunk', pick: 1 }),
      at({ kind: 'advance', ms: 4 }),
      at({ kind: 'chunk', pick: 1 }),
      at({ kind: 'advance', ms: 4 }),
      at({ kind: 'chunk', pick: 1 }),
      at({ kind: 'advance', ms: 3 }),
    ],
  ],
  // A chunk of a stream admitted in an earlier HALF-OPEN generation moves nothing.
  [
    probeConfig(1, 1),
    [
      at({ kind: 'manual', action: 'open' }),
      at({ kind: 'start', via: 'stream', signal: 'none' }),
      at({ kind: 'manual', action: 'open' }),
      at({ kind: 'start', via: 'execute', signal: 'none' }),
      at({ kind: 'advance', ms: 6 }),
      at({ kind: 'chunk', pick: 0 }),
      at({ kind: 'advance', ms: 4 }),
      at({ kind: 'start', via: 'execute', signal: 'none' }),
    ],
  ],
];

test('overlapping calls, manual control and clock jumps: the breaker matches the model (default monotonic clock)', async () => {
  await fc.assert(
    fc.asyncProperty(configArb, seqArb, (config, ops) =>
      run(config, ops, { label: 'monotonic', origin: undefined }),
    ),
    { numRuns: runs(600), includeErrorInReport: true, examples: probeExamples, ...replay },
  );
});

test('overlapping calls, manual control and clock jumps: the breaker matches the model (injected clock)', async () => {
  await fc.assert(
    fc.asyncProperty(configArb, seqArb, fc.integer({ min: -1e12, max: 1e12 }), (config, ops, origin) =>
      run(config, ops, { label: 'injected', origin }),
    ),
    {
      numRuns: runs(400),
      includeErrorInReport: true,
      examples: probeExamples.map(([config, ops]) => [config, ops, 0] as [Config, typeof ops, number]),
      ...replay,
    },
  );
});
