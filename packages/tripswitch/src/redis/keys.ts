/**
 * Key names for one breaker. Every key carries the breaker name as a hash tag (`{name}`) so a script's
 * keys always live in one Redis Cluster slot; braces inside the name are escaped so the tag stays whole.
 */
export interface BreakerKeys {
  /** Hash: state, gen, until (server ms), by. */
  readonly state: string;
  /** Sorted set of pooled failures (score = server ms). */
  readonly fails: string;
  /** Sorted set of instances that reported failures (score = server ms of their latest). */
  readonly reporters: string;
  /** One string key per HALF-OPEN probe slot: the lease holder's token. */
  readonly probes: readonly string[];
  /** Pub/sub channel for this breaker's transitions. */
  readonly channel: string;
  /** KEYS for every script: state, fails, reporters, then the probe slots. */
  readonly all: readonly string[];
}

function escapeTag(name: string): string {
  return name.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function breakerKeys(prefix: string, name: string, probeSlots: number): BreakerKeys {
  const base = `${prefix}:{${escapeTag(name)}}`;
  const probes: string[] = [];
  for (let i = 0; i < probeSlots; i++) probes.push(`${base}:probe:${i}`);
  const state = `${base}:state`;
  const fails = `${base}:fails`;
  const reporters = `${base}:reporters`;
  return {
    state,
    fails,
    reporters,
    probes,
    channel: `${base}:events`,
    all: [state, fails, reporters, ...probes],
  };
}
