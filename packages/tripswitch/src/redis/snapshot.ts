import type { CircuitState } from '../core/types.js';

/** The cluster's state as one script reply or one published message describes it. */
export interface ClusterView {
  readonly state: CircuitState;
  /** Generation of that state; 0 when no state is stored (fresh, expired or lost with a restart). */
  readonly gen: number;
  /** ms left in OPEN, measured by the server when it replied (≤ 0: probing time). 0 for other states. */
  readonly remaining: number;
}

export interface ScriptReply extends ClusterView {
  /** Script-specific verdict: see scripts.ts. */
  readonly verdict: string;
  /** Script-specific extra fields. */
  readonly extra: readonly string[];
}

export interface EventMessage extends ClusterView {
  /** 't' = transition, 'f' = probe slot freed without a transition. */
  readonly kind: 't' | 'f';
  /** Link id that caused it; '' when the store decided on pooled evidence. */
  readonly origin: string;
}

const STATES: ReadonlySet<string> = new Set(['closed', 'open', 'half-open', 'isolated', 'disabled']);

function toState(value: unknown): CircuitState {
  if (typeof value === 'string' && STATES.has(value)) return value as CircuitState;
  throw new TypeError(`tripswitch/redis: unexpected state ${String(value)} in Redis`);
}

function toInt(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new TypeError(`tripswitch/redis: unexpected number ${String(value)} in Redis`);
  return n;
}

export function parseReply(raw: unknown): ScriptReply {
  if (!Array.isArray(raw) || raw.length < 4) throw new TypeError('tripswitch/redis: malformed script reply');
  const [verdict, state, gen, remaining, ...extra] = raw.map(String) as [string, string, string, string];
  return { verdict, state: toState(state), gen: toInt(gen), remaining: toInt(remaining), extra };
}

/** Parse a pub/sub message; undefined for anything that is not ours. */
export function parseMessage(message: string): EventMessage | undefined {
  const parts = message.split('|');
  if (parts.length !== 5) return undefined;
  const [kind, gen, state, remaining, origin] = parts as [string, string, string, string, string];
  if ((kind !== 't' && kind !== 'f') || !STATES.has(state)) return undefined;
  const g = Number(gen);
  const r = Number(remaining);
  if (!Number.isFinite(g) || !Number.isFinite(r)) return undefined;
  return { kind, gen: g, state: state as CircuitState, remaining: r, origin };
}
