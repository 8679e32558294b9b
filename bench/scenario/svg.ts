/**
 * The scenario as a picture, drawn as plain SVG text (no browser, no chart library): one panel per
 * variant, latency over time on a log scale (p50 and p99 per time bucket, by send time), the outage phases
 * shaded, and a band above each panel showing the protection's state.
 */
import { percentile, stateAt } from './analyze.js';
import type { ScenarioParams } from './params.js';
import type { VariantRun } from './run.js';

const WIDTH = 980;
const LEFT = 64;
const RIGHT = 24;
const PANEL_H = 150;
const BAND_H = 10;
const GAP = 46;
const TOP = 116;
const BUCKET_MS = 250;
const LEGEND_Y = 86;
const RATE_FILL = '#cfd8dc';

const STATE_COLORS: Record<string, string> = {
  closed: '#43a047',
  open: '#e53935',
  'half-open': '#fbc02d',
  isolated: '#6d4c41',
  none: '#bdbdbd',
};
const PHASE_FILL: Record<string, string> = { hang: '#fdecea', error: '#fff3e0' };
const PHASE_LABEL: Record<string, string> = {
  warmup: 'healthy',
  hang: 'hangs',
  error: 'errors (500)',
  recovery: 'recovered',
};

function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const f1 = (n: number) => n.toFixed(1);

interface Bucket {
  t: number;
  p50: number;
  p99: number;
  /** Requests sent per second in the bucket. */
  rate: number;
}

/** p50/p99 of the latencies of requests sent in each bucket (ms from the run's start). */
export function buckets(run: VariantRun, bucketMs = BUCKET_MS): Bucket[] {
  const t0 = run.phases[0]?.start ?? 0;
  const groups = new Map<number, number[]>();
  for (const s of run.samples) {
    const i = Math.floor((s.start - t0) / bucketMs);
    if (i < 0) continue;
    let g = groups.get(i);
    if (!g) {
      g = [];
      groups.set(i, g);
    }
    g.push(s.latencyMs);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([i, lat]) => {
      lat.sort((a, b) => a - b);
      return {
        t: (i + 0.5) * bucketMs,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        rate: (lat.length * 1000) / bucketMs,
      };
    });
}

/** A path through the points, lifting the pen where a bucket is missing. */
function linePath(points: readonly { x: number; y: number; gap: boolean }[]): string {
  return points.map((p, i) => `${i === 0 || p.gap ? 'M' : 'L'}${f1(p.x)},${f1(p.y)}`).join('');
}

/** `subtitle`: lines under the title (machine, date, parameters). */
export function renderSvg(
  runs: readonly VariantRun[],
  p: ScenarioParams,
  subtitle: readonly string[],
): string {
  const totalMs = Object.values(p.phaseMs).reduce((a, b) => a + b, 0);
  const yMaxMs = 10 ** Math.ceil(Math.log10(p.timeoutMs * 2));
  const decades = Math.log10(yMaxMs);
  const plotW = WIDTH - LEFT - RIGHT;
  const height = TOP + runs.length * (PANEL_H + BAND_H + GAP) + 10;
  const x = (ms: number) => LEFT + (Math.min(Math.max(ms, 0), totalMs) / totalMs) * plotW;
  const series = runs.map((r) => buckets(r));
  // One throughput scale for every panel, so the panels compare.
  const maxRate = Math.max(1, ...series.flat().map((b) => b.rate));

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="600">Outage scenario: latency per request over time (by send time, ${BUCKET_MS} ms buckets)</text>`,
    ...subtitle.map((line, i) => `<text x="${LEFT}" y="${38 + i * 14}" fill="#555">${esc(line)}</text>`),
  ];
  // Legend.
  const legend: [string, string, string][] = [
    ['line', '#1565c0', 'p50'],
    ['line', '#8e24aa', 'p99'],
    ['rect', STATE_COLORS.closed!, 'closed'],
    ['rect', STATE_COLORS.open!, 'open'],
    ['rect', STATE_COLORS['half-open']!, 'half-open'],
    ['rect', STATE_COLORS.none!, 'no breaker'],
    ['rect', PHASE_FILL.hang!, 'provider hangs'],
    ['rect', PHASE_FILL.error!, 'provider errors'],
    ['rect', RATE_FILL, `requests sent/s (bottom third = ${Math.round(maxRate)})`],
  ];
  let lx = LEFT;
  for (const [kind, color, label] of legend) {
    out.push(
      kind === 'line'
        ? `<line x1="${lx}" y1="${LEGEND_Y}" x2="${lx + 18}" y2="${LEGEND_Y}" stroke="${color}" stroke-width="2"/>`
        : `<rect x="${lx}" y="${LEGEND_Y - 5}" width="18" height="10" fill="${color}" stroke="#999" stroke-width="0.5"/>`,
      `<text x="${lx + 22}" y="${LEGEND_Y + 4}">${esc(label)}</text>`,
    );
    lx += 30 + label.length * 6;
  }

  runs.forEach((run, index) => {
    const t0 = run.phases[0]?.start ?? 0;
    const bandY = TOP + index * (PANEL_H + BAND_H + GAP);
    const top = bandY + BAND_H + 4;
    const bottom = top + PANEL_H;
    const y = (ms: number) => bottom - (Math.log10(Math.min(Math.max(ms, 1), yMaxMs)) / decades) * PANEL_H;

    out.push(
      `<text x="${LEFT}" y="${bandY - 6}" font-size="13" font-weight="600">${esc(run.protection)}</text>`,
    );
    // Outage shading and phase labels.
    for (const m of run.phases) {
      const x1 = x(m.start - t0);
      const x2 = x(m.end - t0);
      const fill = PHASE_FILL[m.phase];
      if (fill)
        out.push(
          `<rect x="${f1(x1)}" y="${top}" width="${f1(x2 - x1)}" height="${PANEL_H}" fill="${fill}"/>`,
        );
      out.push(
        `<text x="${f1(x1 + 4)}" y="${top + 12}" fill="#777">${esc(PHASE_LABEL[m.phase] ?? m.phase)}</text>`,
      );
    }
    // State band.
    const states = run.protection === 'none' ? [] : run.timeline.states;
    if (states.length === 0) {
      out.push(
        `<rect x="${LEFT}" y="${bandY}" width="${plotW}" height="${BAND_H}" fill="${STATE_COLORS.none}"/>`,
      );
    } else {
      const first = stateAt(states, t0) ?? states[0]![1];
      const changes: [number, string][] = [[t0, first], ...states.filter(([t]) => t > t0)];
      changes.forEach(([t, s], i) => {
        const next = changes[i + 1]?.[0] ?? t0 + totalMs;
        const x1 = x(t - t0);
        const w = Math.max(0.5, x(next - t0) - x1);
        if (t - t0 >= totalMs) return;
        const color = STATE_COLORS[s] ?? '#000';
        out.push(`<rect x="${f1(x1)}" y="${bandY}" width="${f1(w)}" height="${BAND_H}" fill="${color}"/>`);
      });
    }
    // Axes and grid.
    for (let d = 0; d <= decades; d++) {
      const v = 10 ** d;
      const gy = y(v);
      const label = v >= 1000 ? `${v / 1000} s` : `${v} ms`;
      out.push(
        `<line x1="${LEFT}" y1="${f1(gy)}" x2="${LEFT + plotW}" y2="${f1(gy)}" stroke="#e0e0e0"/>`,
        `<text x="${LEFT - 6}" y="${f1(gy + 4)}" text-anchor="end" fill="#555">${label}</text>`,
      );
    }
    const ty = y(p.timeoutMs);
    out.push(
      `<line x1="${LEFT}" y1="${f1(ty)}" x2="${LEFT + plotW}" y2="${f1(ty)}" stroke="#c62828" stroke-dasharray="5,4"/>`,
      `<text x="${LEFT + plotW - 4}" y="${f1(ty - 3)}" text-anchor="end" fill="#c62828">timeout ${p.timeoutMs} ms</text>`,
    );
    const fy = y(p.fastMs);
    out.push(
      `<line x1="${LEFT}" y1="${f1(fy)}" x2="${LEFT + plotW}" y2="${f1(fy)}" stroke="#2e7d32" stroke-dasharray="2,3"/>`,
      `<text x="${LEFT + plotW - 4}" y="${f1(fy - 3)}" text-anchor="end" fill="#2e7d32">${p.fastMs} ms</text>`,
    );
    for (let s = 0; s * 1000 <= totalMs; s += 5) {
      const tx = x(s * 1000);
      out.push(
        `<line x1="${f1(tx)}" y1="${bottom}" x2="${f1(tx)}" y2="${bottom + 4}" stroke="#555"/>`,
        `<text x="${f1(tx)}" y="${bottom + 15}" text-anchor="middle" fill="#555">${s} s</text>`,
      );
    }
    out.push(
      `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#9e9e9e"/>`,
    );
    const bs = series[index] ?? [];
    // Throughput as a grey area in the bottom third of the panel; a bucket with no request sent is a zero.
    const rateY = (r: number) => bottom - (r / maxRate) * (PANEL_H / 3);
    const rates = new Map(bs.map((b) => [Math.floor(b.t / BUCKET_MS), b.rate]));
    let area = `M${LEFT},${bottom}`;
    for (let i = 0; i * BUCKET_MS < totalMs; i++) {
      const r = rates.get(i) ?? 0;
      area += `L${f1(x(i * BUCKET_MS))},${f1(rateY(r))}L${f1(x((i + 1) * BUCKET_MS))},${f1(rateY(r))}`;
    }
    out.push(`<path d="${area}L${LEFT + plotW},${bottom}Z" fill="${RATE_FILL}" fill-opacity="0.8"/>`);
    // Latency lines.
    const pts = (key: 'p50' | 'p99') =>
      bs.map((b, i) => ({
        x: x(b.t),
        y: y(b[key]),
        gap: i > 0 && b.t - bs[i - 1]!.t > BUCKET_MS * 1.5,
      }));
    out.push(
      `<path d="${linePath(pts('p99'))}" fill="none" stroke="#8e24aa" stroke-width="1.4"/>`,
      `<path d="${linePath(pts('p50'))}" fill="none" stroke="#1565c0" stroke-width="1.8"/>`,
    );
    // Dots too: a lone bucket (everyone waiting on the timeout) has no line to draw.
    for (const pt of pts('p99'))
      out.push(`<circle cx="${f1(pt.x)}" cy="${f1(pt.y)}" r="1.6" fill="#8e24aa"/>`);
    for (const pt of pts('p50'))
      out.push(`<circle cx="${f1(pt.x)}" cy="${f1(pt.y)}" r="1.6" fill="#1565c0"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
