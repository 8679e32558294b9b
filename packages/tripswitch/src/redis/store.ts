import { randomUUID } from 'node:crypto';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { StateStore, StoreBreakerConfig, StoreLink, StoreSink, StoreStatus } from '../core/store.js';
import { StoreUnavailableError } from './errors.js';
import { type NamespaceKeys, namespaceKeys } from './keys.js';
import { type LinkHost, RedisLink } from './link.js';
import {
  type RedisStoreOptions,
  type ResolvedRedisStoreOptions,
  resolveRedisStoreOptions,
} from './options.js';
import { CommandRunner } from './runner.js';
import { type LuaScript, scripts } from './scripts.js';
import {
  type ClusterView,
  type EventMessage,
  type NamespaceVersion,
  parseChanges,
  parseMany,
  parseMessage,
  type ScriptReply,
} from './snapshot.js';

export type RedisStoreStatusListener = (status: StoreStatus, error: unknown) => void;

export interface RedisStoreStats {
  status: StoreStatus;
  /** This store's id; each breaker's link id is `<instanceId>:<n>`. */
  instanceId: string;
  breakers: number;
  /** Times Redis became unreachable. */
  degradations: number;
  /** Our commands that failed or timed out. */
  commandErrors: number;
  /** Transition messages received over pub/sub (one channel per namespace). */
  messages: number;
  /** Messages that showed a missed transition (a catch-up read followed). */
  gaps: number;
  /** Round trips of the backstop and of batched reads (not counting per-breaker scripts). */
  roundTrips: number;
  /** 'ssubscribe' (sharded pub/sub), 'subscribe', or null before the subscription was answered. */
  pubsub: 'ssubscribe' | 'subscribe' | null;
  /** Date.now() when the current degraded period began, or null. */
  degradedSince: number | null;
}

// Connections the store creates itself fail fast: our commands never queue while Redis is away.
const ownDefaults: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
};

/**
 * Shares breaker state between service instances through Redis. Pass it as a breaker's `store`:
 *
 * ```ts
 * const store = new RedisStore({ client: redis });          // or { url: process.env.REDIS_URL }
 * const llm = new CircuitBreaker({ name: 'huggingface', store });
 * ```
 *
 * The success path never touches Redis. Transitions are compare-and-set scripts on server time and reach
 * other instances by pub/sub (plus a periodic re-read); failures are pooled; one probe lease serves the
 * whole cluster. Without Redis every breaker keeps protecting on local state, says so (`storeStatus`
 * event, log line, `status`/`stats()`), and rejoins when Redis is back.
 */
export class RedisStore implements StateStore {
  /** The connection our commands use (yours, or the one created from `url`). */
  readonly client: Redis | Cluster;
  private readonly subscriber: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly options: ResolvedRedisStoreOptions;
  private readonly ns: NamespaceKeys;
  private readonly runner: CommandRunner;
  private readonly instanceId = randomUUID().slice(0, 8);
  private linkSeq = 0;
  private _status: StoreStatus = 'connected';
  private degradedSince: number | null = null;
  private readonly links = new Set<RedisLink>();
  private readonly byName = new Map<string, Set<RedisLink>>();
  /** Settles once the namespace channel's subscription was confirmed (or failed: the backstop covers it). */
  private subscription: Promise<void>;
  private subscriptionLive = false;
  /** 'ssubscribe' on servers with sharded pub/sub (Redis 7+, any topology), else 'subscribe'. */
  private pubsubMode: 'ssubscribe' | 'subscribe' | undefined;
  /** Namespace version every attached breaker has caught up with; null = unknown (read them all). */
  private known: NamespaceVersion | null = null;
  private catchingUp: Promise<void> | null = null;
  private lastFullRead = 0;
  private readonly readQueue: Array<{
    link: RedisLink;
    resolve: (view: ClusterView) => void;
    reject: (err: unknown) => void;
  }> = [];
  private readScheduled = false;
  private readonly listeners = new Set<RedisStoreStatusListener>();
  private readonly counters = { degradations: 0, commandErrors: 0, messages: 0, gaps: 0, roundTrips: 0 };
  private readonly timer: ReturnType<typeof setInterval>;
  private refreshing: Promise<void> | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;
  private readonly host: LinkHost;
  private readonly onReady = () => {
    this.runner.markReady();
    if (this._status === 'degraded') this.refresh().catch(noop);
  };
  private readonly onClose = () => {
    if (!this.closed) this.noteFailure(new StoreUnavailableError('connection to Redis closed'));
  };

  constructor(options: RedisStoreOptions = {}) {
    this.options = resolveRedisStoreOptions(options);
    this.ns = namespaceKeys(this.options.prefix);
    if (options.client !== undefined) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      const merged: RedisOptions = { ...ownDefaults, ...options.redisOptions };
      this.client = options.url !== undefined ? new Redis(options.url, merged) : new Redis(merged);
      this.ownsClient = true;
      this.client.on('error', noop); // reported through status, not as an unhandled 'error' event
    }
    this.runner = new CommandRunner(this.client, this.options.commandTimeout);
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    // Pub/sub needs a connection of its own; it may queue its SUBSCRIBE until it connects. On a Cluster,
    // sharded subscribers follow the namespace's slot to whichever master serves it.
    const client = this.client;
    this.subscriber = isCluster(client)
      ? client.duplicate(undefined, { shardedSubscribers: true, enableOfflineQueue: true })
      : (client as Redis).duplicate({ enableOfflineQueue: true, lazyConnect: false });
    this.subscriber.on('error', noop);
    this.subscriber.on('smessage', (channel: string, message: string) => this.dispatch(channel, message));
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    let subscriberReadies = 0;
    this.subscriber.on('ready', () => {
      // After a pub/sub reconnect, messages may have been missed: catch up now rather than at the next tick.
      if (subscriberReadies++ > 0) this.tick().catch(noop);
    });
    this.subscription = this.subscribe();
    this.timer = setInterval(() => this.tick().catch(noop), this.options.refreshInterval);
    this.timer.unref();
    const store = this;
    this.host = {
      get status() {
        return store._status;
      },
      options: this.options,
      ns: this.ns,
      exec: (script, keys, args, onLate) => this.exec(script, keys, args, onLate),
      read: (link) => this.read(link),
      detach: (link) => this.detach(link),
    };
  }

  attach(sink: StoreSink, config: StoreBreakerConfig): StoreLink {
    if (this.closed) throw new Error('RedisStore is closed');
    const link = new RedisLink(this.host, `${this.instanceId}:${++this.linkSeq}`, sink, config);
    this.links.add(link);
    let set = this.byName.get(link.name);
    if (set === undefined) {
      set = new Set();
      this.byName.set(link.name, set);
    }
    set.add(link);
    link.start(); // a breaker created while the cluster is OPEN starts OPEN, and admits nothing before
    return link;
  }

  /** 'connected', or 'degraded' while Redis is unreachable (breakers then run on local state). */
  get status(): StoreStatus {
    return this._status;
  }

  /** Listen for status changes; returns the function that unsubscribes. */
  on(event: 'status', listener: RedisStoreStatusListener): () => void {
    if (event !== 'status') throw new TypeError(`RedisStore has no event ${String(event)}`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): RedisStoreStats {
    return {
      status: this._status,
      instanceId: this.instanceId,
      breakers: this.links.size,
      ...this.counters,
      pubsub: this.pubsubMode ?? null,
      degradedSince: this.degradedSince,
    };
  }

  /**
   * Re-read every attached breaker's shared state now, in batched round trips (the backstop timer does
   * this only when the namespace version says something changed). While degraded, a complete re-read is
   * what brings the store back to 'connected'.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.refreshing !== null) return this.refreshing;
    const run = async () => {
      const version = await this.readVersion();
      await Promise.all([...this.links].map((link) => link.sync()));
      // Every breaker has now read a state at least as new as `version`.
      this.caughtUp(version);
      this.lastFullRead = Date.now();
      if (this._status === 'degraded') this.setConnected();
    };
    this.refreshing = run().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Detach every breaker, release held probe leases, close our connections (yours stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.links].map((link) => link.close()));
    this.closed = true;
    clearInterval(this.timer);
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    this.subscriber.disconnect();
    if (this.ownsClient) this.client.disconnect();
    for (const pending of this.readQueue.splice(0)) pending.reject(new Error('RedisStore is closed'));
  }

  // ------------------------------------------------------------ internals

  private async exec(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onLate?: (reply: ScriptReply) => void,
  ): Promise<ScriptReply> {
    try {
      return await this.runner.exec(script, keys, args, onLate);
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
  }

  /** One subscription per store: the namespace channel, sharded where the server has it. */
  private async subscribe(): Promise<void> {
    const channel = this.ns.channel;
    try {
      await this.subscriber.ssubscribe(channel);
      this.pubsubMode = 'ssubscribe';
    } catch (err) {
      if (!/unknown command/i.test((err as Error)?.message ?? '')) return; // the backstop covers it
      try {
        await this.subscriber.subscribe(channel);
        this.pubsubMode = 'subscribe';
      } catch {
        return;
      }
    }
    this.subscriptionLive = true;
  }

  /** Resolves when the namespace subscription is confirmed, or after commandTimeout at the latest. */
  private subscribed(): Promise<void> {
    if (this.subscriptionLive) return settled;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.commandTimeout);
    });
    return Promise.race([this.subscription, limit]).finally(() => clearTimeout(timer));
  }

  /** Batch every read asked for in this turn of the event loop into READ_MANY round trips. */
  private read(link: RedisLink): Promise<ClusterView> {
    return new Promise((resolve, reject) => {
      this.readQueue.push({ link, resolve, reject });
      if (this.readScheduled) return;
      this.readScheduled = true;
      setImmediate(() => {
        this.readScheduled = false;
        this.flushReads().catch(noop);
      });
    });
  }

  private async flushReads(): Promise<void> {
    const batch = this.readQueue.splice(0);
    if (batch.length === 0) return;
    await this.subscribed();
    for (let i = 0; i < batch.length; i += READ_CHUNK) {
      const chunk = batch.slice(i, i + READ_CHUNK);
      const keys = [this.ns.ns, ...chunk.map((p) => p.link.keys.state)];
      try {
        const reply = await this.call('readMany', (c) =>
          scripts.readMany.run(c, keys, [this.options.keyTtl]).then(parseMany),
        );
        chunk.forEach((p, k) => {
          const view = reply.views[k];
          if (view === undefined) p.reject(new TypeError('tripswitch/redis: short read reply'));
          else p.resolve(view);
        });
      } catch (err) {
        for (const p of chunk) p.reject(err);
      }
    }
  }

  /** A command of the store's own (not a breaker's script) under the runner's rules; failures degrade. */
  private async call<T>(name: string, work: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    this.counters.roundTrips++;
    try {
      return await this.runner.call(name, work);
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
  }

  private async readVersion(): Promise<NamespaceVersion> {
    const [epoch, seq] = await this.call('version', (c) => c.hmget(this.ns.ns, 'epoch', 'seq'));
    return { epoch: epoch ?? '', seq: Number(seq ?? 0) || 0 };
  }

  /** Everything up to `version` has reached every attached breaker. */
  private caughtUp(version: NamespaceVersion): void {
    const k = this.known;
    if (k === null || k.epoch !== version.epoch || version.seq > k.seq) this.known = version;
  }

  /**
   * The backstop, every refreshInterval: one HMGET of the namespace version when nothing changed (the
   * idle cost: one command per instance per interval, however many breakers); the changed breakers'
   * states in one more round trip when something did; a full batched re-read when the namespace started
   * over (new epoch: Redis lost its data), after an outage, and every keyTtl/4 to keep live keys alive.
   */
  private tick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.ticking !== null) return this.ticking;
    const run = async () => {
      if (
        this._status === 'degraded' ||
        this.known === null ||
        Date.now() - this.lastFullRead >= this.options.keyTtl / 4
      ) {
        await this.refresh();
        return;
      }
      if (this.links.size === 0) return; // nothing attached: nothing to keep up to date
      const dirty = [...this.links].filter((link) => link.needsRead);
      // Settled, never rejected: a failure was reported by the read itself (the store went degraded).
      const reconciled = Promise.allSettled(dirty.map((link) => link.sync()));
      const version = await this.readVersion();
      const k = this.known;
      if (k === null || version.epoch !== k.epoch || version.seq !== k.seq) await this.catchUp();
      await reconciled;
    };
    this.ticking = run().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  /** Fetch what changed since the known version (after a gap in the messages or a backstop mismatch). */
  private catchUp(): Promise<void> {
    if (this.catchingUp !== null) return this.catchingUp;
    const run = async () => {
      const k = this.known;
      if (k === null) return this.refresh();
      const reply = await this.call('changes', (c) =>
        scripts.changes
          .run(c, [this.ns.ns, this.ns.log], [k.epoch, k.seq, `{${this.options.prefix}}:b:`, CHANGES_MAX])
          .then(parseChanges),
      );
      if (reply.full) return this.refresh();
      for (const [name, view] of reply.changed) {
        const set = this.byName.get(name);
        if (set !== undefined) for (const link of set) link.offer(view, '');
      }
      this.caughtUp(reply);
    };
    this.catchingUp = run().finally(() => {
      this.catchingUp = null;
    });
    return this.catchingUp;
  }

  private detach(link: RedisLink): void {
    this.links.delete(link);
    const set = this.byName.get(link.name);
    if (set === undefined) return;
    set.delete(link);
    if (set.size === 0) this.byName.delete(link.name);
  }

  private dispatch(channel: string, raw: string): void {
    if (channel !== this.ns.channel) return;
    const message = parseMessage(raw);
    if (message === undefined) return;
    if (message.kind === 't') {
      this.counters.messages++;
      this.track(message);
    }
    const set = this.byName.get(message.name);
    if (set !== undefined) for (const link of set) link.onMessage(message);
  }

  /** Gap detection: transitions carry consecutive seqs; a jump means one was missed → targeted re-read. */
  private track(message: EventMessage): void {
    const k = this.known;
    if (k === null) return; // the first read will cover it
    if (message.epoch === k.epoch) {
      if (message.seq === k.seq + 1) this.known = { epoch: k.epoch, seq: message.seq };
      else if (message.seq > k.seq + 1) this.gap();
      return;
    }
    if (k.epoch === '' && k.seq === 0 && message.seq === 1) {
      this.known = { epoch: message.epoch, seq: 1 }; // the namespace's very first transition
      return;
    }
    this.gap(); // the namespace started over (Redis lost its data): catchUp re-reads in full
  }

  private gap(): void {
    this.counters.gaps++;
    this.catchUp().catch(noop);
  }

  private noteFailure(err: unknown): void {
    this.counters.commandErrors++;
    if (this._status === 'degraded' || this.closed) return;
    this._status = 'degraded';
    this.degradedSince = Date.now();
    this.counters.degradations++;
    const reason = err instanceof Error ? err.message : String(err);
    this.options.logger?.warn(
      `tripswitch/redis: Redis unreachable (${reason}); ${this.links.size} breaker(s) continue on local state`,
    );
    this.announce('degraded', err);
  }

  private setConnected(): void {
    if (this._status === 'connected' || this.closed) return;
    const since = this.degradedSince ?? Date.now();
    this._status = 'connected';
    this.degradedSince = null;
    this.options.logger?.info(
      `tripswitch/redis: Redis reachable again after ${Date.now() - since} ms; shared breaker state rejoined`,
    );
    this.announce('connected', undefined);
  }

  private announce(status: StoreStatus, err: unknown): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(status, err);
      } catch {
        // A listener's exception must not stop the others or the store.
      }
    }
    for (const link of this.links) {
      try {
        link.notifyStatus(status, err);
      } catch {
        // Same for breakers' own listeners.
      }
    }
  }
}

function noop(): void {}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Breakers per READ_MANY round trip (one script call; keeps a reply and Redis's time in it bounded). */
const READ_CHUNK = 500;
/** Most changed breakers a catch-up fetches by name; beyond that a full batched re-read is cheaper. */
const CHANGES_MAX = 1000;

const settled: Promise<void> = Promise.resolve();
