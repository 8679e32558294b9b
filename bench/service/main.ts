/**
 * `npm run bench:service`: the AssistantService request paths against a bare Fastify JSON route, in the
 * same run on the same machine (DESIGN.md 4, the service-path row).
 *
 * Both servers are child processes; autocannon drives them alternately, path by path, for `ROUNDS` rounds
 * (bare, service, bare, service, ...), so machine noise hits both sides alike. For each run it records
 * req/s, p50/p99 latency and the server process's CPU time per request (from /proc). A ratio is taken within
 * each round (service / bare req/s; bare / service CPU per request), and the table shows the median over
 * rounds with min–max. Results go to bench/results/service-latest.{json,md}.
 *
 * Environment: BENCH_SERVICE_SECONDS (per run, default 5), BENCH_SERVICE_ROUNDS (default 3),
 * BENCH_SERVICE_CONNECTIONS (default 20), BENCH_SERVICE_PATHS (comma-separated ids, default all),
 * BENCH_SERVICE_OUT (results dir; empty string: do not write), BENCH_SERVICE_PROFILE (a directory: the service
 * child writes a V8 CPU profile there when it stops; open it in Chrome DevTools).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { markdownTable } from '../lib/format.js';
import { machineInfo } from '../lib/machine.js';
import { type PathSpec, paths, prepare } from './paths.js';
import { type Child, startBare, startService } from './processes.js';

export interface RunFigures {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  requests: number;
  /** Share of responses with the path's expected status. */
  expectedShare: number;
  statuses: Record<string, number>;
}

export interface PathResult {
  id: string;
  title: string;
  rounds: { bare: RunFigures; service: RunFigures }[];
  /** Medians over rounds of the per-round ratios; `valid` false when the service answered the wrong thing. */
  throughputRatio: Summary;
  cpuRatio: Summary;
  service: { reqPerSec: number; p50Ms: number; p99Ms: number; cpuMsPerRequest: number };
  bare: { reqPerSec: number; cpuMsPerRequest: number };
  valid: boolean;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new RangeError(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function summary(values: number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** One autocannon run against `url` while reading the server's CPU time before and after. */
async function drive(
  target: Child,
  spec: PathSpec,
  seconds: number,
  connections: number,
): Promise<RunFigures> {
  const cpuBefore = target.cpuSeconds();
  const result = await autocannon({
    url: `${target.url}/api/assistant/query`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.token}` },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: spec.body() }),
      },
    ],
  });
  const cpuAfter = target.cpuSeconds();
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = (stat as { count: number }).count;
  }
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    reqPerSec: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: total > 0 ? ((cpuAfter - cpuBefore) * 1000) / total : Number.NaN,
    requests: total,
    expectedShare: total > 0 ? (statuses[String(spec.expectStatus)] ?? 0) / total : 0,
    statuses,
  };
}

export interface BenchOptions {
  seconds: number;
  rounds: number;
  connections: number;
  only?: readonly string[];
  log?: (line: string) => void;
}

export async function runServiceBench(options: BenchOptions): Promise<PathResult[]> {
  const log = options.log ?? (() => {});
  const bare = await startBare();
  // The load generator is one address: the per-address limiter must not throttle it. Auth failures are
  // limited by the same allowance, so the 401 path needs it raised too.
  const service = await startService({ RATE_LIMIT_PER_MINUTE: '1000000' });
  const results: PathResult[] = [];
  try {
    const specs = paths().filter((p) => !options.only || options.only.includes(p.id));
    for (const spec of specs) {
      await prepare(spec, service.url, service.simUrl);
      // Warm-up: JIT, caches and connection pools of both servers, not counted.
      await drive(bare, spec, Math.min(2, options.seconds), options.connections);
      await drive(service, spec, Math.min(2, options.seconds), options.connections);
      const rounds: PathResult['rounds'] = [];
      for (let r = 0; r < options.rounds; r++) {
        const b = await drive(bare, spec, options.seconds, options.connections);
        const s = await drive(service, spec, options.seconds, options.connections);
        rounds.push({ bare: b, service: s });
        log(
          `${spec.id} round ${r + 1}: bare ${b.reqPerSec.toFixed(0)} req/s, service ${s.reqPerSec.toFixed(0)} req/s ` +
            `(${(s.expectedShare * 100).toFixed(1)}% ${spec.expectStatus}; ${JSON.stringify(s.statuses)})`,
        );
      }
      results.push({
        id: spec.id,
        title: spec.title,
        rounds,
        throughputRatio: summary(rounds.map((x) => x.service.reqPerSec / x.bare.reqPerSec)),
        cpuRatio: summary(rounds.map((x) => x.bare.cpuMsPerRequest / x.service.cpuMsPerRequest)),
        service: {
          reqPerSec: median(rounds.map((x) => x.service.reqPerSec)),
          p50Ms: median(rounds.map((x) => x.service.p50Ms)),
          p99Ms: median(rounds.map((x) => x.service.p99Ms)),
          cpuMsPerRequest: median(rounds.map((x) => x.service.cpuMsPerRequest)),
        },
        bare: {
          reqPerSec: median(rounds.map((x) => x.bare.reqPerSec)),
          cpuMsPerRequest: median(rounds.map((x) => x.bare.cpuMsPerRequest)),
        },
        valid: rounds.every((x) => x.service.expectedShare >= 0.95),
      });
    }
  } finally {
    await service.stop();
    await bare.stop();
  }
  return results;
}

const GOALS: Record<string, number> = { cache_hit: 0.4, excerpts_open: 0.25 };

function pct(s: Summary): string {
  return `${(s.median * 100).toFixed(1)}% (${(s.min * 100).toFixed(0)}–${(s.max * 100).toFixed(0)}%)`;
}

export function renderMarkdown(results: PathResult[], header: string): string {
  const rows = results.map((r) => {
    const goal = GOALS[r.id];
    const verdict = (x: Summary) =>
      goal === undefined ? '' : x.median >= goal ? ` ✅ ≥ ${goal * 100}%` : ` ❌ < ${goal * 100}%`;
    return [
      r.title + (r.valid ? '' : ' ⚠ wrong status'),
      r.service.reqPerSec.toFixed(0),
      `${r.service.p50Ms.toFixed(1)} / ${r.service.p99Ms.toFixed(1)}`,
      r.service.cpuMsPerRequest.toFixed(3),
      pct(r.throughputRatio) + verdict(r.throughputRatio),
      pct(r.cpuRatio) + verdict(r.cpuRatio),
    ];
  });
  const bareRow = [
    'bare Fastify JSON route, logger off',
    median(results.map((r) => r.bare.reqPerSec)).toFixed(0),
    '',
    median(results.map((r) => r.bare.cpuMsPerRequest)).toFixed(3),
    '100%',
    '100%',
  ];
  return [
    '## Service request paths vs bare Fastify',
    '',
    header,
    '',
    markdownTable(
      [
        'path',
        'req/s',
        'p50 / p99 ms',
        'CPU ms per request',
        'req/s vs bare',
        'CPU per request: bare / service',
      ],
      [bareRow, ...rows],
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const seconds = num('BENCH_SERVICE_SECONDS', 5, 1);
  const rounds = num('BENCH_SERVICE_ROUNDS', 3, 1);
  const connections = num('BENCH_SERVICE_CONNECTIONS', 20, 1);
  const only = process.env.BENCH_SERVICE_PATHS ? process.env.BENCH_SERVICE_PATHS.split(',') : undefined;
  const machine = machineInfo();
  const started = Date.now();
  const results = await runServiceBench({
    seconds,
    rounds,
    connections,
    ...(only ? { only } : {}),
    log: (line) => console.error(line),
  });
  const header =
    `Machine: ${machine.cpu}, ${machine.cores} cores; Node ${machine.node}; load average at start ${machine.load}; ` +
    `${machine.date.slice(0, 10)}. autocannon -c ${connections}, ${rounds} interleaved rounds of ${seconds} s per ` +
    `side; medians of per-round ratios (min–max). CPU is the server process's user+system time per request ` +
    `(the steadier figure on a busy machine, where both sides' req/s fall with the load generator's share); ` +
    `the service runs as \`npm start\` does (info logging, embedded sim in the same process).`;
  const md = renderMarkdown(results, header);
  console.log(md);
  const out = process.env.BENCH_SERVICE_OUT ?? fileURLToPath(new URL('../results', import.meta.url));
  if (out !== '') {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'service-latest.md'), md);
    writeFileSync(
      join(out, 'service-latest.json'),
      `${JSON.stringify({ machine, seconds: (Date.now() - started) / 1000, results }, null, 2)}\n`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
