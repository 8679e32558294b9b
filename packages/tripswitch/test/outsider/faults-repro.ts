// Reproductions of the faults listed in FAULTS.md. Not a test file (CI does not run it): each check prints
// FAULT (still present) or fixed. Run: node --conditions=development --import tsx <this file>
import { BreakerRegistry, CircuitBreaker, fallback, retry } from 'tripswitch';
import { classifyError, parseRetryAfter, parseRetryAfterValue } from 'tripswitch/http';
import { ManualClock } from '../../src/testing/manual-clock.js';

type Check = () => Promise<string | undefined> | string | undefined; // a message when the fault is present

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const checks: Record<string, Check> = {
  'F1 late look at a hung probe rejects for another openDuration': async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, clock, openDuration: 1_000, halfOpenTimeout: 1_000 });
    b.recordFailure(new Error('down'));
    clock.advance(1_000);
    void b.execute(() => new Promise(() => {})); // the probe hangs
    clock.advance(9_000); // written off at 2_000, OPEN until 3_000, so HALF-OPEN again since 3_000
    const r = await b.tryExecute(() => 'probe');
    return r.ok ? undefined : `rejected (${(r.error as Error).message}); state ${b.state}`;
  },
  'F2 a written-off probe that settles later is counted twice': async () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, clock, openDuration: 1_000, halfOpenTimeout: 1_000 });
    const events: string[] = [];
    b.on('failure', () => events.push('failure'));
    b.on('success', () => events.push('success'));
    await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    clock.advance(1_000);
    const gate = deferred<string>();
    const probe = b.execute(() => gate.promise);
    clock.advance(1_000);
    void b.state; // write-off
    gate.resolve('late');
    await probe;
    const t = b.stats().totals;
    const outcomes = t.successes + t.failures + t.ignored;
    return outcomes > t.calls
      ? `calls ${t.calls}, outcomes ${outcomes}, events ${events.join(',')}`
      : undefined;
  },
  'F3 registry keyed(): tripped breakers are never evicted (unbounded)': async () => {
    const clock = new ManualClock(0);
    const r = new BreakerRegistry({ maxKeyed: 10, defaults: { failMax: 1, clock, openDuration: 1_000 } });
    for (let i = 0; i < 1_000; i++) {
      await r
        .keyed('model', `k${i}`)
        .execute(() => Promise.reject(new Error('down')))
        .catch(() => {});
    }
    clock.advance(1e9); // a billion ms later every one of them is idle in HALF-OPEN
    r.keyed('model', 'fresh');
    return r.keyedSize > 10 ? `keyedSize ${r.keyedSize} with maxKeyed 10` : undefined;
  },
  'F4 failMax with failWindow allocates failMax * 8 bytes': () => {
    const before = process.memoryUsage().arrayBuffers;
    const b = new CircuitBreaker({ failMax: 50_000_000, failWindow: 1_000 });
    const mb = (process.memoryUsage().arrayBuffers - before) / 1e6;
    let bigError = '';
    try {
      new CircuitBreaker({ failMax: 2 ** 53, failWindow: 1_000 });
    } catch (e) {
      bigError = (e as Error).message;
    }
    return mb > 1 || !bigError.includes('failMax')
      ? `${Math.round(mb)} MB for one ${b.state} breaker; failMax 2**53 -> "${bigError}"`
      : undefined;
  },
  'F5 stats() throws on a null-prototype error or a throwing message getter': async () => {
    const out: string[] = [];
    const b = new CircuitBreaker({ failMax: 1 });
    await b
      .execute(() => {
        throw Object.create(null);
      })
      .catch(() => {});
    try {
      b.stats();
    } catch (e) {
      out.push(`null-proto: ${(e as Error).message}`);
    }
    const c = new CircuitBreaker();
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    c.recordFailure(hostile);
    try {
      c.stats();
    } catch (e) {
      out.push(`getter: ${(e as Error).message}`);
    }
    return out.length ? out.join('; ') : undefined;
  },
  'F6 openDuration function returning Infinity holds OPEN forever': () => {
    const clock = new ManualClock(0);
    const b = new CircuitBreaker({ failMax: 1, clock, openDuration: () => Number.POSITIVE_INFINITY });
    b.recordFailure(new Error('down'));
    clock.advance(1e12);
    return b.state === 'open' ? `state open after 1e12 ms, retryAfter ${b.retryAfter}` : undefined;
  },
  'F7 manual open() while OPEN escalates backoff and totals.openings': () => {
    const seen: number[] = [];
    const b = new CircuitBreaker({
      clock: new ManualClock(0),
      openDuration: ({ openings }) => {
        seen.push(openings);
        return 1_000;
      },
    });
    const changes: string[] = [];
    b.on('stateChange', (f, t) => changes.push(`${f}->${t}`));
    b.open();
    b.open();
    b.open();
    return seen.at(-1) !== 1 || b.stats().totals.openings !== 1
      ? `openings passed to openDuration ${seen.join(',')}; totals.openings ${b.stats().totals.openings}; stateChange events ${changes.length}`
      : undefined;
  },
  'F8 tryExecute and execute disagree on an aborted signal while OPEN': async () => {
    const b = new CircuitBreaker();
    b.open();
    const controller = new AbortController();
    controller.abort(new Error('mine'));
    const r = await b.tryExecute(() => 1, controller.signal);
    const err = r.ok ? undefined : (r.error as Error);
    return err?.message !== 'mine'
      ? `tryExecute -> ${err?.name} (rejections ${b.stats().totals.rejections}); execute -> the caller's reason, 0 rejections`
      : undefined;
  },
  'F9 reset() clears totals but stale in-flight calls are added to the new totals': async () => {
    const b = new CircuitBreaker();
    const gates = Array.from({ length: 3 }, () => deferred<number>());
    const calls = gates.map((g) => b.execute(() => g.promise));
    b.reset();
    for (const g of gates) g.resolve(1);
    await Promise.all(calls);
    const t = b.stats().totals;
    return t.successes > t.calls ? `after reset: calls ${t.calls}, successes ${t.successes}` : undefined;
  },
  'F10 retry shouldRetry / fallback when that throw replace the upstream error': async () => {
    const upstream = new Error('upstream');
    const out: string[] = [];
    const e1 = await retry({
      shouldRetry: () => {
        throw new Error('predicate bug');
      },
    })
      .execute(() => {
        throw upstream;
      })
      .catch((e: unknown) => e);
    if (e1 !== upstream) out.push(`retry -> ${(e1 as Error).message}`);
    const e2 = await fallback('fb', {
      when: () => {
        throw new Error('predicate bug');
      },
    })
      .execute(() => {
        throw upstream;
      })
      .catch((e: unknown) => e);
    if (e2 !== upstream && e2 !== 'fb') out.push(`fallback -> ${(e2 as Error).message}`);
    return out.length ? out.join('; ') : undefined;
  },
  'F11 classifyError throws on hostile error objects instead of answering unknown': () => {
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'code', {
      get() {
        throw new Error('code getter');
      },
    });
    try {
      classifyError(hostile);
      classifyError(
        new Proxy(
          {},
          {
            get() {
              throw new Error('trap');
            },
          },
        ),
      );
      return undefined;
    } catch (e) {
      return `threw ${(e as Error).message}`;
    }
  },
  'F12 Retry-After: junk with a letter parses as a date; 400 digits give Infinity': () => {
    const now = Date.parse('2026-11-30T18:00:00Z');
    const junk = parseRetryAfterValue('x 2030', now);
    const huge = parseRetryAfter({ 'retry-after': '9'.repeat(400) }, now);
    return junk !== undefined || huge === Number.POSITIVE_INFINITY
      ? `"x 2030" -> ${junk} ms; 400 nines -> ${huge}`
      : undefined;
  },
  'F13 registry names collide across prefix/key and get()/keyed()': () => {
    const r = new BreakerRegistry();
    const a = r.keyed('a:b', 'c');
    const b = r.keyed('a', 'b:c');
    const k = r.keyed('p', 'k');
    const g = r.get('p:k');
    return a === b || k === g
      ? `keyed('a:b','c') === keyed('a','b:c'): ${a === b}; get('p:k') === keyed('p','k'): ${k === g}`
      : undefined;
  },
  'F14 an onCreate hook that looks its breaker up creates orphan breakers': () => {
    const r = new BreakerRegistry();
    let created = 0;
    r.onCreate((b) => {
      created++;
      if (created < 5) r.get(b.name);
    });
    r.get('x');
    return created > 1 ? `${created} breakers created (and onCreate'd) for one name` : undefined;
  },
  'F15 throw undefined counts as a failure but stats().lastFailure stays null': async () => {
    const b = new CircuitBreaker({ failMax: 1 });
    await b
      .execute(() => {
        throw undefined;
      })
      .catch(() => {});
    const s = b.stats();
    return s.totals.failures === 1 && s.lastFailure === null
      ? `failures 1, state ${s.state}, lastFailure null, lastFailureAt ${s.lastFailureAt}`
      : undefined;
  },
  'F16 a predicate returning a truthy non-boolean reads as false (excluded error trips)': async () => {
    const b = new CircuitBreaker({
      failMax: 1,
      exclude: [(e) => (e as { code?: string }).code as unknown as boolean],
    });
    const invalid = Object.assign(new Error('bad request'), { code: 'E_VALIDATION' });
    await b
      .execute(() => {
        throw invalid;
      })
      .catch(() => {});
    return b.state === 'open' ? 'exclude: [(e) => e.code] did not exclude; the circuit opened' : undefined;
  },
};

let present = 0;
for (const [name, check] of Object.entries(checks)) {
  let message: string | undefined;
  try {
    message = await check();
  } catch (e) {
    message = `check crashed: ${(e as Error)?.message ?? String(e)}`;
  }
  if (message !== undefined) present++;
  console.log(`${message === undefined ? 'fixed' : 'FAULT'}  ${name}${message ? `\n       ${message}` : ''}`);
}
console.log(`${present} of ${Object.keys(checks).length} faults present`);
