import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compare } from '../lib/compare.js';
import { formatBytes, formatNs, formatRatio, markdownTable, median } from '../lib/format.js';
import { footprint } from '../lib/heap.js';
import { machineInfo } from '../lib/machine.js';
import { renderJson, renderMarkdown } from '../lib/report.js';
import type { BenchScale, SuiteContext, SuiteResult } from '../lib/suite.js';
import { bundleSize } from '../micro/bundle.js';
import { FloorBreaker } from '../micro/floor.js';
import { suites } from '../micro/suites.js';

// Tiny counts: this checks the harness runs and reports sane numbers, never how fast anything is.
const TINY: BenchScale = { rounds: 1, sampleMs: 2, breakers: 200, soakCalls: 2_000, searchDocuments: 50 };
const ctx: SuiteContext = { scale: TINY, log: () => {} };

function assertSane(result: SuiteResult): void {
  assert.ok(result.rows.length > 0, 'a suite reports at least one row');
  for (const row of result.rows) {
    assert.ok(row.section.length > 0 && row.case.length > 0 && row.result.length > 0);
    for (const [key, value] of Object.entries(row.data)) {
      if (typeof value !== 'number') continue;
      assert.ok(Number.isFinite(value), `${row.case}: ${key} is finite (${value})`);
      if (/^(nsPerOp|ratio|calls|breakers|seconds)/.test(key)) {
        assert.ok(value > 0, `${row.case}: ${key} is positive (${value})`);
      }
    }
  }
  for (const bar of result.bars) assert.ok(bar.bar.length > 0 && bar.measured.length > 0);
}

describe('bench helpers', () => {
  test('median, formatting and tables', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(formatNs(85.25), '85.3 ns');
    assert.equal(formatNs(1_500), '1.50 µs');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(2048), '2.00 KB');
    assert.equal(formatRatio(1.234), '1.23×');
    assert.equal(formatRatio(0.0123), '0.012×');
    assert.equal(markdownTable(['a', 'b'], [['1', 'x|y']]), '| a | b |\n|---|---|\n| 1 | x\\|y |');
  });

  test('machine info names the CPU, cores and Node', () => {
    const m = machineInfo(new Date(0));
    assert.ok(m.cores > 0 && m.cpu.length > 0);
    assert.equal(m.node, process.version);
    assert.equal(m.date, '1970-01-01T00:00:00.000Z');
  });

  test('compare times every contender and takes ratios against the baseline', async () => {
    const floor = new FloorBreaker();
    const timings = await compare(
      [
        { id: 'bare', label: 'bare', run: async () => 1 },
        { id: 'floor', label: 'floor', run: () => floor.execute(async () => 1) },
      ],
      { rounds: 2, sampleMs: 2, baseline: 'floor' },
    );
    assert.equal(timings.length, 2);
    for (const t of timings) {
      assert.ok(t.ns > 0 && Number.isFinite(t.ns), `${t.id} ns/op ${t.ns}`);
      assert.equal(t.rounds.length, 2);
      assert.ok(t.ratioMin <= t.ratio && t.ratio <= t.ratioMax);
    }
    assert.equal(timings.find((t) => t.id === 'floor')!.ratio, 1);
    await assert.rejects(
      compare([{ id: 'a', label: 'a', run: () => 1 }], { rounds: 1, sampleMs: 1, baseline: 'b' }),
      RangeError,
    );
  });

  test('footprint sees the bytes and the timers objects hold', () => {
    // 128 unboxed doubles: a 1 KB backing store on the JS heap each.
    // 2,000 objects so that heap noise is small per object; the larger of two measurements, because garbage
    // from earlier work freed during one measurement can only make it read low.
    const measure = () => footprint(2000, () => Array.from({ length: 128 }, (_, i) => i + 0.5));
    const [a, b] = [measure(), measure()];
    const held = a.bytesPerObject >= b.bytesPerObject ? a : b;
    assert.ok(
      held.bytesPerObject >= 800 && held.bytesPerObject < 4000,
      `bytes per object ${held.bytesPerObject}`,
    );
    assert.equal(held.timersPerObject, 0);
    const timed = footprint(50, () => setInterval(() => {}, 60_000).unref());
    assert.equal(timed.timersPerObject, 1);
    assert.equal(timed.refTimers, 0, 'unref()ed timers are not ref-counted');
    for (const t of timed.objects) clearInterval(t);
  });

  test('floor breaker opens after 5 consecutive failures', async () => {
    const floor = new FloorBreaker();
    const boom = new Error('boom');
    for (let i = 0; i < 5; i++)
      await assert.rejects(
        floor.execute(() => Promise.reject(boom)),
        boom,
      );
    await assert.rejects(
      floor.execute(async () => 1),
      /open/,
    );
  });
});

test('the CircuitBreaker bundle holds only tripswitch dist/ modules (zero runtime dependencies)', async () => {
  const size = await bundleSize("export { CircuitBreaker } from 'tripswitch';");
  const inputs = Object.keys(size.inputs).filter((f) => f !== '<stdin>');
  assert.ok(inputs.length > 0);
  for (const f of inputs) assert.match(f, /packages\/tripswitch\/dist\//, f);
  assert.ok(size.gzipped > 0 && size.gzipped < size.minified);
  // Tree-shaking works: the policies, registry and HTTP helpers are not part of a breaker-only bundle.
  assert.ok(!inputs.some((f) => /policies|registry|http/.test(f)), inputs.join(', '));
});

describe('bench suites (tiny counts)', () => {
  const outcomes: { id: string; title: string; result: SuiteResult; seconds: number }[] = [];
  for (const suite of suites) {
    test(`${suite.id} runs and reports sane numbers`, async () => {
      const result = await suite.run(ctx);
      assertSane(result);
      outcomes.push({ id: suite.id, title: suite.title, result, seconds: 0 });
    });
  }

  test('the report renders every row and bar as Markdown and JSON', () => {
    assert.ok(outcomes.length > 0);
    const report = { machine: machineInfo(), scale: 'tiny', seconds: 1, suites: outcomes };
    const md = renderMarkdown(report);
    for (const o of outcomes) for (const r of o.result.rows) assert.ok(md.includes(r.case), r.case);
    assert.match(md, /Machine: .+ cores/);
    assert.match(md, /[✅❌⏳]/);
    const json = JSON.parse(renderJson(report)) as { suites: { rows: unknown[] }[] };
    assert.equal(json.suites.length, outcomes.length);
  });
});
