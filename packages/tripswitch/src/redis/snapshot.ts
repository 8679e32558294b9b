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
  /** The breaker it is about. */
  readonly name: string;
  /** Namespace version after it: epoch ('' before the first transition) and seq. */
  readonly epoch: string;
  readonly seq: number;
}

/** The namespace version: `epoch` changes when the namespace starts over (new or lost), `seq` per transition. */
export interface NamespaceVersion {
  readonly epoch: string;
  readonly seq: number;
}

/** A READ_MANY reply: the version and one view per key asked for, in order. */
export interface ManyReply extends NamespaceVersion {
  readonly views: ClusterView[];
}

/** A CHANGES reply: 'full' = read your breakers in full; 'delta' = the changed ones are in `changed`. */
export interface ChangesReply extends NamespaceVersion {
  readonly full: boolean;
  readonly changed: Map<string, ClusterView>;
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

function strings(raw: unknown, min: number, what: string): string[] {
  if (!Array.isArray(raw) || raw.length < min)
    throw new TypeError(`tripswitch/redis: malformed ${what} reply`);
  return raw.map(String);
}

function view(
  state: string | undefined,
  gen: string | undefined,
  remaining: string | undefined,
): ClusterView {
  return { state: toState(state), gen: toInt(gen), remaining: toInt(remaining) };
}

export function parseMany(raw: unknown): ManyReply {
  const r = strings(raw, 2, 'read');
  const views: ClusterView[] = [];
  for (let i = 2; i + 2 < r.length; i += 3) views.push(view(r[i], r[i + 1], r[i + 2]));
  return { epoch: r[0]!, seq: toInt(r[1]), views };
}

export function parseChanges(raw: unknown): ChangesReply {
  const r = strings(raw, 3, 'changes');
  const changed = new Map<string, ClusterView>();
  for (let i = 3; i + 3 < r.length; i += 4) changed.set(r[i]!, view(r[i + 1], r[i + 2], r[i + 3]));
  return { full: r[0] !== 'delta', epoch: r[1]!, seq: toInt(r[2]), changed };
}

/** Parse a pub/sub message ("kind|epoch|seq|gen|state|remaining|origin|name"); undefined if not ours. */
export function parseMessage(message: string): EventMessage | undefined {
  const parts = message.split('|');
  if (parts.length < 8) return undefined;
  const [kind, epoch, seq, gen, state, remaining, origin] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((kind !== 't' && kind !== 'f') || !STATES.has(state)) return undefined;
  const s = Number(seq);
  const g = Number(gen);
  const r = Number(remaining);
  if (!Number.isFinite(s) || !Number.isFinite(g) || !Number.isFinite(r)) return undefined;
  const name = parts.slice(7).join('|'); // a name may itself contain '|'
  return { kind, epoch, seq: s, gen: g, state: state as CircuitState, remaining: r, origin, name };
}
