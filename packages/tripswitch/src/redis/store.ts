import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { StateStore, StoreBreakerConfig, StoreLink, StoreSink, StoreStatus } from '../core/store.js';
import { StoreUnavailableError } from './errors.js';
import { type LinkHost, RedisLink } from './link.js';
import {
  type RedisStoreOptions,
  type ResolvedRedisStoreOptions,
  resolveRedisStoreOptions,
} from './options.js';
import { CommandRunner } from './runner.js';
import type { LuaScript } from './scripts.js';
import { parseMessage, type ScriptReply } from './snapshot.js';

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
  /** Transition messages received over pub/sub. */
  messages: number;
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
  readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly ownsClient: boolean;
  private readonly options: ResolvedRedisStoreOptions;
  private readonly runner: CommandRunner;
  private readonly instanceId = randomUUID().slice(0, 8);
  private linkSeq = 0;
  private _status: StoreStatus = 'connected';
  private degradedSince: number | null = null;
  private readonly links = new Set<RedisLink>();
  private readonly channels = new Map<string, Set<RedisLink>>();
  /** Per channel: settles once SUBSCRIBE was confirmed (or failed; the re-read timer covers that case). */
  private readonly subscriptions = new Map<string, Promise<void>>();
  private readonly listeners = new Set<RedisStoreStatusListener>();
  private readonly counters = { degradations: 0, commandErrors: 0, messages: 0 };
  private readonly timer: ReturnType<typeof setInterval>;
  private refreshing: Promise<void> | null = null;
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
    // Pub/sub needs a connection of its own; it may queue SUBSCRIBEs until it connects.
    this.subscriber = this.client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    this.subscriber.on('error', noop);
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    let subscriberReadies = 0;
    this.subscriber.on('ready', () => {
      // After a pub/sub reconnect, messages may have been missed: re-read now rather than at the next tick.
      if (subscriberReadies++ > 0) this.refresh().catch(noop);
    });
    this.timer = setInterval(() => this.refresh().catch(noop), this.options.refreshInterval);
    this.timer.unref();
    const store = this;
    this.host = {
      get status() {
        return store._status;
      },
      options: this.options,
      exec: (script, keys, args, onLate) => this.exec(script, keys, args, onLate),
      subscribed: (channel) => this.subscribed(channel),
      detach: (link) => this.detach(link),
    };
  }

  attach(sink: StoreSink, config: StoreBreakerConfig): StoreLink {
    if (this.closed) throw new Error('RedisStore is closed');
    const link = new RedisLink(this.host, `${this.instanceId}:${++this.linkSeq}`, sink, config);
    this.links.add(link);
    const channel = link.keys.channel;
    let set = this.channels.get(channel);
    if (set === undefined) {
      set = new Set();
      this.channels.set(channel, set);
      const confirmed = this.subscriber.subscribe(channel).then(noop, noop);
      this.subscriptions.set(channel, confirmed);
      // Once confirmed, later reads need not wait (nor arm a timer) for it.
      confirmed.then(() => {
        if (this.subscriptions.get(channel) === confirmed) this.subscriptions.set(channel, settled);
      });
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
      degradedSince: this.degradedSince,
    };
  }

  /**
   * Re-read every attached breaker's shared state now (the timer does this every `refreshInterval`).
   * While degraded, a complete re-read is what brings the store back to 'connected'.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.refreshing !== null) return this.refreshing;
    const run = async () => {
      if (this.links.size === 0) {
        if (this._status === 'degraded' && this.client.status === 'ready') this.setConnected();
        return;
      }
      await Promise.all([...this.links].map((link) => link.sync()));
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

  /** Resolves when the channel's SUBSCRIBE is confirmed, or after commandTimeout at the latest. */
  private subscribed(channel: string): Promise<void> {
    const pending = this.subscriptions.get(channel);
    if (pending === undefined || pending === settled) return settled;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.commandTimeout);
    });
    return Promise.race([pending, limit]).finally(() => clearTimeout(timer));
  }

  private detach(link: RedisLink): void {
    this.links.delete(link);
    const channel = link.keys.channel;
    const set = this.channels.get(channel);
    if (set === undefined) return;
    set.delete(link);
    if (set.size === 0) {
      this.channels.delete(channel);
      this.subscriptions.delete(channel);
      if (!this.closed) this.subscriber.unsubscribe(channel).catch(noop);
    }
  }

  private dispatch(channel: string, raw: string): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    const message = parseMessage(raw);
    if (message === undefined) return;
    if (message.kind === 't') this.counters.messages++;
    for (const link of set) link.onMessage(message);
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

const settled: Promise<void> = Promise.resolve();
