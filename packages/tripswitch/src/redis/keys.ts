/**
 * Key and channel names. A namespace (the store's `prefix`) lives in ONE Redis Cluster slot: every key and
 * its sharded pub/sub channel carry the prefix as their hash tag (`{prefix}`), so one script can bump the
 * namespace version while it changes a breaker, one command reads that version for every breaker at once,
 * and the channel is served by the shard that runs the scripts. Breaker names follow the tag verbatim:
 * only the first `{…}` of a key is hashed, so braces in a name change nothing.
 */
export interface NamespaceKeys {
  /** Hash: epoch (server ms when the namespace was created), seq (transitions since). */
  readonly ns: string;
  /** Sorted set: breaker name → seq of its latest transition (what changed since a given seq). */
  readonly log: string;
  /** The one pub/sub channel of the namespace (SSUBSCRIBE where the server has it). */
  readonly channel: string;
}

/** Key names for one breaker. */
export interface BreakerKeys {
  /** Hash: state, gen, until (server ms), by. */
  readonly state: string;
  /** Sorted set of pooled failures (score = server ms). */
  readonly fails: string;
  /** Sorted set of instances that reported failures (score = server ms of their latest). */
  readonly reporters: string;
  /** One string key per HALF-OPEN probe slot: the lease holder's token. */
  readonly probes: readonly string[];
  /** KEYS for every per-breaker script: ns, log, state, fails, reporters, then the probe slots. */
  readonly all: readonly string[];
}

export function namespaceKeys(prefix: string): NamespaceKeys {
  const tag = `{${prefix}}`;
  return { ns: `${tag}:ns`, log: `${tag}:log`, channel: `${tag}:events` };
}

export function breakerKeys(
  ns: NamespaceKeys,
  prefix: string,
  name: string,
  probeSlots: number,
): BreakerKeys {
  const base = `{${prefix}}:b:${name}`;
  const probes: string[] = [];
  for (let i = 0; i < probeSlots; i++) probes.push(`${base}:probe:${i}`);
  const state = `${base}:state`;
  const fails = `${base}:fails`;
  const reporters = `${base}:reporters`;
  return { state, fails, reporters, probes, all: [ns.ns, ns.log, state, fails, reporters, ...probes] };
}
