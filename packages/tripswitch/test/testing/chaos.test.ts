import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHttpFailure } from 'tripswitch/http';
import { ChaosError, chaos, ManualClock, seededRandom } from 'tripswitch/testing';

const ok = () => 'ok';

async function outcome(p: Promise<unknown>): Promise<'ok' | unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

describe('chaos: error rate', () => {
  test('with a seeded random the injected share is close to errorRate and reproducible', async () => {
    async function run(seed: number): Promise<boolean[]> {
      const policy = chaos({ errorRate: 0.3, random: seededRandom(seed) });
      const failed: boolean[] = [];
      for (let i = 0; i < 1000; i++) failed.push((await outcome(policy.execute(ok))) !== 'ok');
      const stats = policy.stats();
      assert.equal(stats.calls, 1000);
      assert.equal(stats.errors + stats.passed, 1000);
      assert.equal(stats.errors, failed.filter(Boolean).length);
      return failed;
    }
    const first = await run(42);
    const share = first.filter(Boolean).length / first.length;
    assert.ok(share > 0.25 && share < 0.35, `share ${share}`);
    assert.deepEqual(await run(42), first);
    assert.notDeepEqual(await run(7), first);
  });

  test('the default injected error is a ChaosError 503 that counts as an upstream failure', async () => {
    const err = await outcome(chaos({ errorRate: 1 }).execute(ok));
    assert.ok(err instanceof ChaosError);
    assert.equal(err.status, 503);
    assert.equal(err.fault, 'error');
    assert.equal(err.classification.reason, 'server_error');
    assert.equal(isHttpFailure(err), true);
  });

  test('a custom error factory is used, and the wrapped function is not called', async () => {
    let called = 0;
    const boom = new Error('boom');
    const policy = chaos({ errorRate: 1, error: () => boom });
    assert.equal(
      await outcome(
        policy.execute(() => {
          called++;
          return 1;
        }),
      ),
      boom,
    );
    assert.equal(called, 0);
  });

  test('errorRate 0 and disabled pass everything through', async () => {
    const policy = chaos({ errorRate: 0 });
    for (let i = 0; i < 50; i++) assert.equal(await policy.execute(ok), 'ok');
    const off = chaos({ errorRate: 1, enabled: false });
    assert.equal(await off.execute(ok), 'ok');
    assert.equal(off.stats().passed, 1);
  });
});

describe('chaos: outage windows on a ManualClock', () => {
  test('every call inside [start, end) fails; outside, calls pass', async () => {
    const clock = new ManualClock(0);
    const policy = chaos({ clock, outages: [{ start: 1000, end: 2000 }] });
    assert.equal(await policy.execute(ok), 'ok');
    clock.set(1000);
    for (let i = 0; i < 5; i++) {
      const err = await outcome(policy.execute(ok));
      assert.ok(err instanceof ChaosError && err.fault === 'outage');
    }
    assert.equal(policy.inOutage(), true);
    clock.set(1999);
    assert.notEqual(await outcome(policy.execute(ok)), 'ok');
    clock.set(2000);
    assert.equal(await policy.execute(ok), 'ok');
    assert.equal(policy.inOutage(), false);
    assert.deepEqual(policy.stats(), { calls: 8, passed: 2, errors: 0, outages: 6, hangs: 0, delays: 0 });
  });

  test('a schedule function decides outages from the clock', async () => {
    const clock = new ManualClock(0);
    // down during the second half of every 10 s
    const policy = chaos({ clock, outages: (now) => now % 10_000 >= 5000 });
    assert.equal(await policy.execute(ok), 'ok');
    clock.advance(6000);
    assert.ok((await outcome(policy.execute(ok))) instanceof ChaosError);
    clock.advance(5000);
    assert.equal(await policy.execute(ok), 'ok');
  });
});

describe('chaos: hang and latency', () => {
  test('a hang never settles until the signal aborts, then rejects with its reason', async () => {
    const policy = chaos({ hangRate: 1 });
    const controller = new AbortController();
    let settled = false;
    const pending = policy.execute(ok, controller.signal).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(settled, false);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.equal(await outcome(pending), reason);
    assert.equal(policy.stats().hangs, 1);
    assert.equal(policy.stats().passed, 0);
  });

  test('an already aborted signal rejects at once', async () => {
    const reason = new Error('already');
    assert.equal(await outcome(chaos({ hangRate: 1 }).execute(ok, AbortSignal.abort(reason))), reason);
  });

  test('added latency delays the call (real timer) and then lets it through', async () => {
    const policy = chaos({ latency: { ms: 40 } });
    const started = performance.now();
    assert.equal(await policy.execute(ok), 'ok');
    // lower bound only: timers never fire early by more than a ms
    assert.ok(performance.now() - started >= 35);
    assert.equal(policy.stats().delays, 1);
  });

  test('latency is cut short by the signal', async () => {
    const policy = chaos({ latency: { ms: 60_000 } });
    const signal = AbortSignal.timeout(20);
    const err = await outcome(policy.execute(ok, signal));
    assert.ok(err instanceof DOMException && err.name === 'TimeoutError', String(err));
  });

  test('latency rate and ranges draw from random', async () => {
    const policy = chaos({ latency: { ms: [1, 3], rate: 0.5 }, random: seededRandom(1) });
    for (let i = 0; i < 40; i++) await policy.execute(ok);
    const { delays, passed } = policy.stats();
    assert.equal(passed, 40);
    assert.ok(delays > 5 && delays < 35, `delays ${delays}`);
  });

  test('the wrapped function receives the caller signal', async () => {
    const controller = new AbortController();
    const seen = await chaos().execute(({ signal, attempt }) => ({ signal, attempt }), controller.signal);
    assert.equal(seen.signal, controller.signal);
    assert.equal(seen.attempt, 1);
  });
});

describe('chaos: live changes and validation', () => {
  test('setMode switches presets; update changes single options', async () => {
    const clock = new ManualClock(0);
    const policy = chaos({ clock });
    assert.equal(await policy.execute(ok), 'ok');
    policy.setMode('error');
    assert.ok((await outcome(policy.execute(ok))) instanceof ChaosError);
    policy.setMode('outage');
    assert.equal(((await outcome(policy.execute(ok))) as ChaosError).fault, 'outage');
    policy.setMode('healthy');
    assert.equal(await policy.execute(ok), 'ok');
    policy.setMode('flaky', { rate: 1 });
    assert.ok((await outcome(policy.execute(ok))) instanceof ChaosError);
    policy.update({ errorRate: 0 });
    assert.equal(await policy.execute(ok), 'ok');
    policy.update({ errorRate: 1 }).setEnabled(false);
    assert.equal(await policy.execute(ok), 'ok');
    assert.equal(policy.enabled, false);
    assert.equal(policy.options.clock, clock);
    policy.resetStats();
    assert.equal(policy.stats().calls, 0);
  });

  test('invalid options throw RangeError/TypeError naming the option', () => {
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => chaos({ errorRate: 1.5 }), RangeError, /errorRate.*\[0, 1\]/],
      [() => chaos({ errorRate: Number.NaN }), RangeError, /errorRate/],
      [() => chaos({ hangRate: -0.1 }), RangeError, /hangRate/],
      [() => chaos({ latency: { ms: -1 } }), RangeError, /latency\.ms/],
      [() => chaos({ latency: { ms: [5, 1] } }), RangeError, /latency\.ms/],
      [() => chaos({ latency: { ms: 5, rate: 2 } }), RangeError, /latency\.rate/],
      [() => chaos({ outages: [{ start: 5, end: 5 }] }), RangeError, /outages\[0\]/],
      [() => chaos({ error: 'x' as never }), TypeError, /error/],
      [() => chaos({ random: 1 as never }), TypeError, /random/],
      [() => chaos({ clock: {} as never }), TypeError, /clock/],
      [() => chaos().setMode('broken' as never), RangeError, /mode/],
    ];
    for (const [make, type, message] of cases) {
      assert.throws(make, (e: unknown) => e instanceof type && message.test((e as Error).message));
    }
  });

  test('a failed update leaves the previous configuration in place', async () => {
    const policy = chaos({ errorRate: 1 });
    assert.throws(() => policy.update({ hangRate: 7 }), RangeError);
    assert.equal(policy.options.errorRate, 1);
    assert.ok((await outcome(policy.execute(ok))) instanceof ChaosError);
  });
});
