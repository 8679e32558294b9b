import {
  retry as ckRetry,
  timeout as ckTimeout,
  ExponentialBackoff,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import type { Policy } from 'tripswitch';
import * as lib from 'tripswitch';
import { compare, type Timing, timingOf } from '../lib/compare.js';
import { formatNs, formatRatio } from '../lib/format.js';
import type { ResultRow, Suite, SuiteResult } from '../lib/suite.js';
import { cockatiel, okOp, tripswitch } from './contenders.js';

const SECTION = 'Full pipeline, success call';

/** The policy factories this suite needs from `tripswitch`; looked up at run time (see `policyApi`). */
interface PolicyApi {
  pipeline: (...policies: Policy[]) => Policy;
  retry: (options?: { maxAttempts?: number }) => Policy;
  timeout: (ms: number) => Policy;
}

/** The policies, or undefined while `tripswitch` does not export them yet. */
export function policyApi(): PolicyApi | undefined {
  const api = lib as unknown as Partial<PolicyApi>;
  const ok =
    typeof api.pipeline === 'function' &&
    typeof api.retry === 'function' &&
    typeof api.timeout === 'function';
  return ok ? (api as PolicyApi) : undefined;
}

/**
 * retry → breaker → timeout, the order both libraries recommend, around a call that succeeds: the cost of
 * the whole stack on the path every healthy request takes.
 */
export const pipelineSuite: Suite = {
  id: 'pipeline',
  title: SECTION,
  async run(ctx): Promise<SuiteResult> {
    const api = policyApi();
    if (api === undefined) {
      return {
        rows: [
          {
            section: SECTION,
            case: 'tripswitch `pipeline(retry, breaker, timeout)` vs cockatiel `wrap(...)`',
            result: 'pending',
            ratio: '',
            data: { status: 'pending' },
          },
        ],
        bars: [
          {
            bar: 'pipeline faster than cockatiel (own check)',
            measured: 'pending: `pipeline`, `retry`, `timeout` are not exported from tripswitch yet',
            met: null,
          },
        ],
      };
    }
    // Same shape on both sides: 3 attempts with exponential backoff, 5 consecutive failures, 10 s timeout.
    const ts = api.pipeline(api.retry({ maxAttempts: 3 }), tripswitch(), api.timeout(10_000));
    const ck = wrap(
      ckRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }), // cockatiel counts retries
      cockatiel(),
      ckTimeout(10_000, TimeoutStrategy.Aggressive),
    );
    const timings = await compare(
      [
        { id: 'bare', label: 'bare `await fn()`', run: () => okOp() },
        {
          id: 'tripswitch',
          label: 'tripswitch `pipeline(retry, breaker, timeout)`',
          run: () => ts.execute(okOp),
        },
        { id: 'cockatiel', label: 'cockatiel `wrap(retry, breaker, timeout)`', run: () => ck.execute(okOp) },
      ],
      { rounds: ctx.scale.rounds, sampleMs: ctx.scale.sampleMs, baseline: 'cockatiel' },
    );
    const t = timingOf(timings, 'tripswitch');
    return {
      rows: timings.map((x) => row(x)),
      bars: [
        {
          bar: 'pipeline faster than cockatiel (own check)',
          measured: `${formatNs(t.ns)} vs ${formatNs(timingOf(timings, 'cockatiel').ns)} (${formatRatio(t.ratio)} cockatiel)`,
          met: t.ratio < 1,
        },
      ],
      notes: [
        'Pipeline: both stacks create one AbortController per call (their timeout layer); on Node 20 that ' +
          'allocation costs microseconds and brings GC, so it dominates both rows and their ratio swings widely ' +
          'between rounds on a loaded machine.',
      ],
    };
  },
};

function row(x: Timing): ResultRow {
  return {
    section: SECTION,
    case: x.label,
    result: `${formatNs(x.ns)}/op`,
    ratio: `${formatRatio(x.ratio)} cockatiel (${formatRatio(x.ratioMin)}–${formatRatio(x.ratioMax)})`,
    data: { id: x.id, nsPerOp: x.ns, ratioToCockatiel: x.ratio, ratioMin: x.ratioMin, ratioMax: x.ratioMax },
  };
}
