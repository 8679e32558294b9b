/**
 * Permits: admission for code that makes the call itself (and for `stream()`), with HALF-OPEN limits and a
 * shared store's probe lease respected. The permit reports exactly one outcome, classified like `execute`.
 */
import type { TimeoutError } from './errors.js';
import type { BreakerInternals } from './internals.js';
import { ignores } from './outcome.js';
import type { Permit } from './results.js';
import { DISABLED, STATE_CODES } from './states.js';
import type { ProbeLease } from './store.js';

/** What a disabled breaker hands out: every outcome goes unrecorded. */
const disabledPermit: Permit = { success() {}, failure() {}, cancel() {}, timedOut() {} };

/** `acquirePermit()`: resolves to a permit or rejects with `CircuitOpenError`. */
export async function acquirePermit(b: BreakerInternals): Promise<Permit> {
  if (b._storeReady !== undefined) await b._storeReady;
  const clock = b._o.clock;
  if (b._code === DISABLED) return disabledPermit;
  const admitted = b._admit(clock.now());
  if (typeof admitted !== 'boolean') throw b._reject(admitted);
  const gen = b._gen;
  const lease = admitted && b._link.shared ? await clusterProbeLease(b, gen) : null;
  b._calls++;
  const started = clock.now();
  let settled = false;
  const once = (): boolean => {
    if (settled) return false;
    settled = true;
    return true;
  };
  return {
    success: () => {
      if (!once()) return;
      b._onSuccess(gen, admitted, clock.now() - started);
      lease?.release('success');
    },
    failure: (error?: unknown) => {
      if (!once()) return;
      let ignored: boolean;
      try {
        // Classified like `execute` (exclude / include / policy rejections); no error = a plain failure.
        ignored = error !== undefined && ignores(b, gen, admitted, error, undefined);
      } catch (misuse) {
        lease?.release('neutral');
        throw misuse;
      }
      if (ignored) {
        b._onIgnored(gen, admitted, error);
        lease?.release('neutral');
        return;
      }
      b._onFailure(gen, admitted, error, clock.now() - started);
      lease?.release('failure');
    },
    cancel: () => {
      if (!once()) return;
      b._onIgnored(gen, admitted, undefined);
      lease?.release('neutral');
    },
    timedOut: (error: TimeoutError) => {
      if (!once()) return;
      b._onTimeout(gen, admitted, error, clock.now() - started);
      lease?.release('failure');
    },
  };
}

/**
 * With a shared store a local probe slot is not enough: the cluster grants the probe lease. Without it
 * (another instance probes, or the state moved on while we asked) the slot is given back and the call is
 * rejected with `CircuitOpenError`.
 */
export async function clusterProbeLease(b: BreakerInternals, gen: number): Promise<ProbeLease> {
  const lease = await b._link.acquireProbe();
  if (lease !== null && gen === b._gen) return lease;
  lease?.release('neutral');
  b._releaseProbeSlot(gen);
  throw b._reject(STATE_CODES[b.state]); // reading the state performs a due lazy transition
}
