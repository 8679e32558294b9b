import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { machineInfo } from '../lib/machine.js';
import { analyze, percentile, phaseOf, stateAt } from '../scenario/analyze.js';
import { classify, type Sample } from '../scenario/load.js';
import { checkParams, QUICK_PARAMS, type ScenarioParams } from '../scenario/params.js';
import { ALL_QUERIES, KNOWN_QUERIES, OFF_CORPUS_QUERIES, QueryCycle } from '../scenario/queries.js';
import type { ServiceStats } from '../scenario/recorder.js';
import { barChecks, renderJson, renderMarkdown } from '../scenario/report.js';
import type { PhaseMark, VariantRun } from '../scenario/run.js';
import { runScenario } from '../scenario/scenario.js';
import { renderSvg } from '../scenario/svg.js';

const stats: ServiceStats = {
  t: 0,
  eventLoop: { p50Ms: 1, p99Ms: 2, maxMs: 3, meanMs: 1 },
  rssMb: 100,
  peakRssMb: 120,
  upstreamCalls: 0,
  cpuMs: 0,
};

/** A hand-made run: phases of 1 s from t = 0, timeout 1000 ms, a trip at 1.4 s, recovery closing at 3.1 s. */
function syntheticRun(): { run: VariantRun; params: ScenarioParams } {
  const params: ScenarioParams = {
    ...QUICK_PARAMS,
    connections: 2,
    timeoutMs: 1000,
    openMs: 100,
    phaseMs: { warmup: 1000, hang: 2000, error: 1000, recovery: 1000 },
  };
  const mark = (
    phase: PhaseMark['phase'],
    start: number,
    end: number,
    upstreamRequests: number,
  ): PhaseMark => ({
    phase,
    start,
    end,
    upstreamRequests,
    service: stats,
  });
  const s = (start: number, latencyMs: number, kind: Sample['kind'], level: string): Sample => ({
    start,
    latencyMs,
    status: kind === 'unavailable' ? 503 : 200,
    kind,
    level,
  });
  const run: VariantRun = {
    protection: 'tripswitch',
    phases: [
      mark('warmup', 0, 1000, 10),
      mark('hang', 1000, 3000, 4),
      mark('error', 3000, 4000, 1),
      mark('recovery', 4000, 5000, 9),
    ],
    samples: [
      s(100, 10, 'answered', 'llm'),
      s(200, 12, 'answered', 'llm'),
      s(990, 1000, 'degraded', 'l1_cache'), // sent healthy, caught by the outage
      s(1000, 1000, 'degraded', 'l1_cache'),
      s(1500, 3, 'degraded', 'excerpts'), // after the trip, fast
      s(1600, 4, 'unavailable', '503'),
      s(1700, 1000, 'degraded', 'l1_cache'), // the probe
      s(3100, 2, 'degraded', 'excerpts'),
      s(4050, 11, 'answered', 'llm'),
    ],
    loadErrors: [],
    timeline: {
      states: [
        [-10, 'closed'],
        [1400, 'open'],
        [1500, 'half-open'],
        [2700, 'open'],
        [4020, 'half-open'],
        [4030, 'closed'],
      ],
      calls: [
        [995, 'closed'],
        [1000, 'closed'],
        [1001, 'closed'],
        [1700, 'half-open'],
        [3100, 'half-open'],
        [4020, 'half-open'],
        [4060, 'closed'],
      ],
    },
    baseline: stats,
    final: stats,
  };
  return { run, params };
}

describe('scenario helpers', () => {
  test('parameters are checked, naming the option', () => {
    assert.doesNotThrow(() => checkParams(QUICK_PARAMS));
    assert.throws(() => checkParams({ ...QUICK_PARAMS, connections: 0 }), /connections/);
    assert.throws(() => checkParams({ ...QUICK_PARAMS, openMs: QUICK_PARAMS.timeoutMs }), RangeError);
    assert.throws(
      () => checkParams({ ...QUICK_PARAMS, phaseMs: { ...QUICK_PARAMS.phaseMs, hang: 100 } }),
      /phaseMs\.hang/,
    );
  });

  test('responses are classified by status and metadata', () => {
    const body = (meta: object) => JSON.stringify({ answer: 'a', sources: [], metadata: meta });
    assert.deepEqual(classify(200, body({ from_fallback: false, cached: false })), {
      kind: 'answered',
      level: 'llm',
    });
    assert.deepEqual(classify(200, body({ from_fallback: true, cached: true, fallback_level: 'l1_cache' })), {
      kind: 'degraded',
      level: 'l1_cache',
    });
    assert.equal(classify(202, body({ from_fallback: true, fallback_level: 'queued' })).kind, 'degraded');
    assert.equal(classify(503, '{}').kind, 'unavailable');
    assert.equal(classify(429, '{}').kind, 'error');
    assert.equal(classify(200, 'not json').kind, 'error');
  });

  test('queries: a fixed cycle; warm-up asks a subset of the full pool', () => {
    const cycle = new QueryCycle(['a', 'b']);
    assert.deepEqual([cycle.next(), cycle.next(), cycle.next()], ['a', 'b', 'a']);
    assert.throws(() => new QueryCycle([]), RangeError);
    for (const q of KNOWN_QUERIES) assert.ok(ALL_QUERIES.includes(q));
    assert.ok(OFF_CORPUS_QUERIES.length > 0 && ALL_QUERIES.length > KNOWN_QUERIES.length);
    assert.equal(new Set(ALL_QUERIES).size, ALL_QUERIES.length, 'queries are distinct');
  });

  test('percentile and stateAt', () => {
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 99), 4);
    assert.ok(Number.isNaN(percentile([], 50)));
    const states: [number, string][] = [
      [0, 'closed'],
      [10, 'open'],
    ];
    assert.equal(stateAt(states, 5), 'closed');
    assert.equal(stateAt(states, 10), 'open');
    assert.equal(stateAt(states, -1), undefined);
  });

  test('analysis of a hand-made run: phases, trip, probes, recovery', () => {
    const { run, params } = syntheticRun();
    assert.equal(phaseOf(run, run.samples[2]!), 'hang', 'a request caught by the outage belongs to it');
    const answeredInFlight: Sample = { ...run.samples[2]!, kind: 'answered', level: 'llm' };
    assert.equal(phaseOf(run, answeredInFlight), 'warmup', 'one the model still answered does not');
    const v = analyze(run, params);
    const [warmup, hang] = v.phases;
    assert.equal(warmup!.requests, 2);
    assert.equal(warmup!.answered, 1);
    assert.equal(hang!.requests, 5);
    assert.equal(hang!.unavailable, 1 / 5);
    const o = v.outage;
    assert.equal(o.tripAfterMs, 400);
    assert.equal(o.firstFastAnswerMs, 503);
    assert.equal(o.afterTripRequests, 3);
    assert.equal(o.afterTripDegradedOr503, 1);
    assert.equal(o.afterTripAtTimeout, 1);
    assert.equal(o.outageCalls, 4);
    assert.equal(o.callsBeforeTrip, 2);
    assert.equal(o.callsAfterTrip, 2);
    assert.equal(o.probesAfterTrip, 2);
    assert.equal(o.recoveryCloseMs, 30);
    assert.equal(o.recoveryProbes, 1);
    assert.equal(v.peakRssMb, 120);
  });

  test('report and chart render every variant', () => {
    const { run, params } = syntheticRun();
    const none: VariantRun = {
      ...run,
      protection: 'none',
      timeline: { states: [], calls: run.timeline.calls },
    };
    const report = {
      machine: { ...machineInfo(new Date(0)), cpu: 'cpu', cores: 2 },
      loadAverage: [1, 2, 3],
      params,
      seconds: 5,
      variants: [analyze(none, params), analyze(run, params)],
    };
    const md = renderMarkdown(report);
    assert.match(md, /\| none \| provider hangs \|/);
    assert.match(md, /\| tripswitch \| 400 ms \|/);
    assert.match(md, /Machine: cpu, 2 cores/);
    const bars = barChecks(report);
    assert.equal(bars.length, 1, 'no bar for the variant without a breaker');
    assert.equal(JSON.parse(renderJson(report)).variants.length, 2);
    const svg = renderSvg([none, run], params, ['subtitle & more']);
    assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
    assert.equal((svg.match(/<path /g) ?? []).length, 6, 'throughput, p50 and p99 per variant');
    assert.ok(svg.includes('subtitle &amp; more'));
  });
});

describe('outage scenario, tripswitch, short phases', () => {
  test('the breaker trips, sheds the outage, probes only, and recovers', { timeout: 120_000 }, async () => {
    const p = QUICK_PARAMS;
    const { report, runs } = await runScenario(p, ['tripswitch']);
    const v = report.variants[0]!;
    const run = runs[0]!;
    const o = v.outage;
    const phase = (name: string) => v.phases.find((s) => s.phase === name)!;

    assert.ok(phase('warmup').answered > 0, 'the model answers while healthy');
    assert.notEqual(o.tripAfterMs, null, 'the circuit opened during the outage');
    // Before the trip: at most failMax failures plus what the other connections had in flight.
    assert.ok(
      o.callsBeforeTrip <= p.failMax + p.connections - 1,
      `${o.callsBeforeTrip} calls before the trip (failMax ${p.failMax}, ${p.connections} connections)`,
    );
    // After it, nothing but probes reaches the provider.
    assert.equal(o.callsAfterTrip, o.probesAfterTrip, 'every upstream call after the trip is a probe');
    const simOutage = phase('hang').upstreamRequests + phase('error').upstreamRequests;
    assert.ok(
      simOutage <= p.failMax + p.connections - 1 + o.probesAfterTrip + p.connections,
      `the provider saw ${simOutage} requests during the outage`,
    );
    // Once open, only a probe can wait for the timeout; everyone else gets a fallback or a 503.
    assert.ok(o.afterTripRequests > 0, 'requests were sent after the trip');
    assert.equal(o.afterTripDegradedOr503, 1, 'every answer after the trip is degraded or a 503');
    assert.ok(
      o.afterTripAtTimeout <= o.probesAfterTrip,
      `${o.afterTripAtTimeout} answers took the full timeout after the trip; probes: ${o.probesAfterTrip}`,
    );
    assert.ok(phase('hang').degraded > 0, 'the cache/excerpts rungs served during the outage');
    // Recovery: the circuit closes by itself and the model answers again.
    assert.notEqual(o.recoveryCloseMs, null, 'the circuit closed after the provider recovered');
    assert.ok(o.recoveryProbes !== null && o.recoveryProbes >= 1);
    assert.ok(phase('recovery').answered > 0, 'the model answers again after recovery');
    assert.ok(phase('recovery').cpuMsPerRequest > 0, 'the service reports its CPU time');
    for (const s of v.phases)
      assert.equal(s.errors, 0, `${s.phase}: no errors, only answers, fallbacks or 503s`);
    assert.ok(
      run.timeline.states.some(([, s]) => s === 'half-open'),
      'probes went out half-open',
    );
    const md = renderMarkdown(report);
    assert.match(md, /\| tripswitch \| provider hangs \|/);
  });
});
