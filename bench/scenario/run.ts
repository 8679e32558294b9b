/**
 * One variant through the whole scenario: start the simulated LLM (in this process, so its counters are
 * exact) and the service (a child process), put load on it, switch the provider's fault mode phase by
 * phase, and collect the raw record: samples, phase marks, upstream calls and states from inside the service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_TOKEN } from '../../apps/assistant/src/domain/auth.js';
import type { SimModeInput } from '../../apps/assistant/src/sim/modes.js';
import { startSim } from '../../apps/assistant/src/sim/server.js';
import { startService } from './child.js';
import { type LoadRun, type Sample, startLoad } from './load.js';
import { PHASES, type PhaseName, type Protection, type ScenarioParams } from './params.js';
import { ALL_QUERIES, KNOWN_QUERIES, QueryCycle } from './queries.js';
import { epochMs, type ServiceStats, type ServiceTimeline } from './recorder.js';

export interface PhaseMark {
  phase: PhaseName;
  /** Epoch ms. */
  start: number;
  end: number;
  /** Model requests the simulated provider received during the phase. */
  upstreamRequests: number;
  /** The service's event-loop delay over the phase and its memory at the end of it. */
  service: ServiceStats;
}

export interface VariantRun {
  protection: Protection;
  phases: PhaseMark[];
  samples: Sample[];
  loadErrors: number[];
  timeline: ServiceTimeline;
  /** The service just before the load started, and after it stopped. */
  baseline: ServiceStats;
  final: ServiceStats;
}

/** The sim's primary model name; with a secondary model only it fails (the secondary stays healthy). */
const PRIMARY_MODEL = 'tripswitch-sim-1';

function simMode(phase: PhaseName, p: ScenarioParams, protection: Protection): SimModeInput {
  const only = protection === 'tripswitch+secondary' ? { model: PRIMARY_MODEL } : {};
  switch (phase) {
    case 'hang':
      return { mode: 'hang', ...only };
    case 'error':
      return { mode: 'error', status: 500, ...only };
    default:
      return { mode: 'healthy', latency_ms: p.simLatencyMs };
  }
}

const sleepUntil = (epoch: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, epoch - epochMs())));

export async function runVariant(
  protection: Protection,
  p: ScenarioParams,
  log: (line: string) => void = () => {},
): Promise<VariantRun> {
  const sim = await startSim({ port: 0, host: '127.0.0.1', mode: simMode('warmup', p, protection) });
  const dir = mkdtempSync(join(tmpdir(), 'tripswitch-scenario-'));
  let load: LoadRun | undefined;
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    service = await startService(protection, {
      PORT: '0',
      HOST: '127.0.0.1',
      LLM_PROVIDER: 'sim',
      LLM_BASE_URL: sim.url,
      LLM_TIMEOUT_MS: String(p.timeoutMs),
      BREAKER_FAIL_MAX: String(p.failMax),
      BREAKER_OPEN_MS: String(p.openMs),
      CACHE_TTL_MS: String(p.cacheFreshMs),
      DATABASE_PATH: join(dir, 'assistant.db'),
      // One demo user drives all the load: the per-user rate limit must not be what we measure.
      RATE_LIMIT_PER_MINUTE: '1000000',
      ASSISTANT_TOKENS: '',
      REDIS_URL: '',
      LOG_LEVEL: 'error',
      ...(protection === 'tripswitch+secondary'
        ? { LLM_FALLBACK_PROVIDER: 'sim', LLM_FALLBACK_BASE_URL: sim.url }
        : {}),
    });
    log(`  ${protection}: service pid ${service.pid} at ${service.url}`);

    let queries = new QueryCycle(KNOWN_QUERIES);
    sim.resetStats();
    const baseline = await service.stats(true);
    const totalMs = PHASES.reduce((sum, ph) => sum + p.phaseMs[ph], 0);
    load = startLoad({
      url: service.url,
      token: DEMO_TOKEN,
      connections: p.connections,
      nextQuery: () => queries.next(),
      maxSeconds: Math.ceil(totalMs / 1000) + 30,
      maxRequests: p.maxRequests,
      requestTimeoutS: Math.ceil((p.timeoutMs * 3) / 1000),
    });

    // The fault switches first and the phase starts when it has; the previous phase's figures are fetched
    // from the service after that, so a slow fetch never stretches a phase.
    const phases: PhaseMark[] = [];
    let ended: Omit<PhaseMark, 'service'> | undefined;
    for (const phase of PHASES) {
      sim.setMode(simMode(phase, p, protection));
      const start = epochMs();
      const before = sim.stats().requests;
      if (phase !== 'warmup') queries = new QueryCycle(ALL_QUERIES);
      log(`  ${protection}: ${phase} for ${(p.phaseMs[phase] / 1000).toFixed(1)} s`);
      if (ended) phases.push({ ...ended, service: await service.stats(true) });
      await sleepUntil(start + p.phaseMs[phase]);
      ended = { phase, start, end: epochMs(), upstreamRequests: sim.stats().requests - before };
    }
    if (ended) phases.push({ ...ended, service: await service.stats(true) });
    const { samples, errors } = load;
    await load.stop();
    load = undefined;
    const timeline = await service.timeline();
    const final = await service.stats(false);
    return { protection, phases, samples, loadErrors: errors, timeline, baseline, final };
  } finally {
    await load?.stop();
    await service?.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
