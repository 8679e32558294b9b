// The dashboard's Server-Sent Events stream over real HTTP: event shapes, live state changes, heartbeats,
// the client bound and clean-up when clients leave or the server stops.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakerRegistry } from 'tripswitch';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import type { DashboardSnapshot } from '../../src/dashboard/view.js';
import { eventually, startDashboard } from './dashboard-server.js';
import { openSse, streamEnds } from './sse-client.js';

type Snapshot = DashboardSnapshot & { hidden: number };
const fail = () => Promise.reject(Object.assign(new Error('model exploded'), { name: 'UpstreamError' }));

describe('GET /dashboard/events', () => {
  test('streams snapshots: full history first, then short tails with the new outcomes', async (t) => {
    const registry = new BreakerRegistry();
    const llm = registry.get('llm', { failMax: 5 });
    await llm.execute(() => 'ok');
    const d = await startDashboard(t, { intervalMs: 100, windowSeconds: 120 }, registry);
    d.metrics.answered('llm');
    d.metrics.answered('excerpts', 'circuit_open');
    d.metrics.answered('excerpts', 'timeout');

    const stream = await openSse(`${d.url}/dashboard/events`);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(stream.headers.get('cache-control'), 'no-cache, no-transform');

    const first = JSON.parse((await stream.next('snapshot')).data) as Snapshot;
    assert.equal(typeof first.at, 'number');
    assert.deepEqual(first.states, ['closed', 'disabled', 'half-open', 'open', 'isolated']);
    assert.equal(first.windowSeconds, 120);
    assert.equal(first.intervalMs, 100);
    assert.equal(first.admin, false);
    assert.deepEqual(first.mix, { llm: 1, excerpts: 2 });
    assert.equal(first.breakers.length, 1);
    const b = first.breakers[0]!;
    assert.equal(b.name, 'llm');
    assert.equal(b.state, 'closed');
    assert.equal(b.failCount, 0);
    assert.equal(b.rejected, 0);
    assert.equal(b.retryAfterMs, 0);
    assert.equal(b.lastErrorKind, null);
    assert.equal(b.timeline.full, true);
    assert.equal(b.timeline.buckets.length, 120);
    for (const bucket of b.timeline.buckets) {
      assert.equal(bucket.length, 4);
      assert.ok(bucket.every((n) => Number.isInteger(n) && n >= 0));
    }

    // Outcomes after the connection show up in the tails of later snapshots.
    await llm.execute(() => 'ok');
    await assert.rejects(llm.execute(fail));
    let seen = { success: 0, failure: 0 };
    for (let i = 0; i < 50 && seen.failure === 0; i++) {
      const next = JSON.parse((await stream.next('snapshot')).data) as Snapshot;
      const tail = next.breakers[0]!.timeline;
      assert.equal(tail.full, false);
      assert.ok(tail.buckets.length <= 3, `tail of ${tail.buckets.length} buckets`);
      seen = {
        success: tail.buckets.reduce((n, x) => n + x[0], 0),
        failure: tail.buckets.reduce((n, x) => n + x[1], 0),
      };
    }
    assert.equal(seen.failure, 1);
    assert.ok(seen.success >= 1);
  });

  test('a state change is pushed at once as a `state` event, then in the snapshot', async (t) => {
    const registry = new BreakerRegistry();
    const llm = registry.get('llm', { failMax: 2, openDuration: 60_000 });
    // A long interval: the change must not wait for the next periodic snapshot.
    const d = await startDashboard(t, { intervalMs: 60_000 }, registry);
    const stream = await openSse(`${d.url}/dashboard/events`);
    t.after(() => stream.close());
    await stream.next('snapshot');

    await assert.rejects(llm.execute(fail));
    await assert.rejects(llm.execute(fail));
    await assert.rejects(
      llm.execute(() => 'never runs'),
      { name: 'CircuitOpenError' },
    );
    const change = JSON.parse((await stream.next('state', 5000)).data);
    assert.equal(change.breaker, 'llm');
    assert.equal(change.from, 'closed');
    assert.equal(change.to, 'open');
    assert.equal(typeof change.at, 'number');

    const after = JSON.parse((await stream.next('snapshot', 5000)).data) as Snapshot;
    const b = after.breakers[0]!;
    assert.equal(b.state, 'open');
    assert.equal(b.failCount, 2);
    assert.ok(b.retryAfterMs !== null && b.retryAfterMs > 0 && b.retryAfterMs <= 60_000);
    // The public stream names the failure's class of reason, never its text (DESIGN 3.1).
    assert.equal(b.lastErrorKind, 'unknown');
    assert.equal(JSON.stringify(after).includes('model exploded'), false);
    assert.equal(typeof b.lastFailureAt, 'number');
    assert.equal(b.failureRate, 1);
    assert.equal(b.openings, 1);

    // Isolated: no probe time to show (JSON has no Infinity).
    llm.isolate();
    assert.equal(JSON.parse((await stream.next('state', 5000)).data).to, 'isolated');
    const isolated = JSON.parse((await stream.next('snapshot', 5000)).data) as Snapshot;
    assert.equal(isolated.breakers[0]!.state, 'isolated');
    assert.equal(isolated.breakers[0]!.retryAfterMs, null);
  });

  test('breakers created after the connection appear with their whole history', async (t) => {
    const d = await startDashboard(t, { intervalMs: 100 });
    d.registry.get('llm');
    const stream = await openSse(`${d.url}/dashboard/events`);
    t.after(() => stream.close());
    const first = JSON.parse((await stream.next('snapshot')).data) as Snapshot;
    assert.deepEqual(
      first.breakers.map((b) => b.name),
      ['llm'],
    );
    const embed = d.registry.keyed('embed', 'model-a');
    await embed.execute(() => 1);
    let names: string[] = [];
    let full = false;
    for (let i = 0; i < 50 && !names.includes('embed:model-a'); i++) {
      const snap = JSON.parse((await stream.next('snapshot')).data) as Snapshot;
      names = snap.breakers.map((b) => b.name);
      full = snap.breakers.find((b) => b.name === 'embed:model-a')?.timeline.full ?? false;
    }
    assert.deepEqual(names, ['llm', 'embed:model-a']);
    assert.equal(full, true);
  });

  test('sends heartbeat comments', async (t) => {
    const d = await startDashboard(t, { intervalMs: 60_000, heartbeatMs: 1000 });
    const stream = await openSse(`${d.url}/dashboard/events`);
    t.after(() => stream.close());
    await stream.next('snapshot');
    await eventually(() => stream.comments.includes('heartbeat'), 'a heartbeat comment');
  });

  test('bounds concurrent clients and frees the slot when a client disconnects', async (t) => {
    const d = await startDashboard(t, { intervalMs: 100, maxClients: 1 });
    const a = await openSse(`${d.url}/dashboard/events`);
    await a.next('snapshot');
    assert.equal(d.plugin.clients(), 1);

    const b = await fetch(`${d.url}/dashboard/events`);
    assert.equal(b.status, 503);
    assert.equal(b.headers.get('retry-after'), '5');
    await b.body?.cancel();

    a.close();
    await eventually(() => d.plugin.clients() === 0, 'the slot to be released');
    const c = await openSse(`${d.url}/dashboard/events`);
    t.after(() => c.close());
    assert.equal(c.status, 200);
    await c.next('snapshot');
    assert.equal(d.plugin.clients(), 1);
  });

  test('closing the server ends open streams instead of hanging', async (t) => {
    const d = await startDashboard(t, { intervalMs: 100 });
    const stream = await openSse(`${d.url}/dashboard/events`);
    await stream.next('snapshot');
    const ended = streamEnds(stream);
    await d.app.close();
    assert.equal(await ended, true);
    assert.equal(d.plugin.clients(), 0);
  });

  test('invalid options throw at construction, naming the option and its range', () => {
    const registry = new BreakerRegistry();
    assert.throws(
      () => dashboardPlugin({ registry, intervalMs: 0 }),
      (err: Error) =>
        err instanceof RangeError && /intervalMs must be an integer in \[100, 60000\]/.test(err.message),
    );
    assert.throws(() => dashboardPlugin({ registry, maxClients: 1.5 }), /maxClients/);
    assert.throws(() => dashboardPlugin({ registry, windowSeconds: 10 }), /windowSeconds.*\[60, 3600\]/);
    assert.throws(() => dashboardPlugin({ registry, adminToken: '' }), TypeError);
    assert.throws(() => dashboardPlugin({} as never), /registry is required/);
  });
});
