import { randomUUID } from 'node:crypto';
import type {
  ProbeLease,
  SharedSnapshot,
  StoreBreakerConfig,
  StoreLink,
  StoreSink,
  StoreStatus,
  TransitionCause,
} from '../core/store.js';
import type { CircuitState } from '../core/types.js';
import { CommandOutcomeUnknown, StoreUnavailableError } from './errors.js';
import { type BreakerKeys, breakerKeys, type NamespaceKeys } from './keys.js';
import type { ResolvedRedisStoreOptions } from './options.js';
import { type LuaScript, scripts } from './scripts.js';
import type { ClusterView, EventMessage, ScriptReply } from './snapshot.js';

/** What a link needs from its store. */
export interface LinkHost {
  readonly status: StoreStatus;
  readonly options: ResolvedRedisStoreOptions;
  /** The namespace's keys and channel. */
  readonly ns: NamespaceKeys;
  /** Run a script; a failure has already been reported to the store (it goes degraded) when this rejects. */
  exec(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onLate?: (reply: ScriptReply) => void,
  ): Promise<ScriptReply>;
  detach(link: RedisLink): void;
  /**
   * This breaker's shared state, read after the namespace subscription is live (so a change is either in
   * the read or in a message, never in neither). Reads asked for in the same turn share one round trip.
   */
  read(link: RedisLink): Promise<ClusterView>;
}

/** Granted without Redis: while degraded, or for a trip the quorum kept local. */
const localLease: ProbeLease = { release() {} };

const noop = () => {};

/** Open-until times closer than this are the same (message latency, ms rounding): no re-adoption churn. */
const SAME_UNTIL_MS = 50;

interface LocalState {
  readonly state: CircuitState;
  readonly openUntil: number;
}

class RedisLease implements ProbeLease {
  done = false;
  /** Date.now() of the last extension sent (or of the grant). */
  extendedAt = Date.now();
  constructor(
    private readonly link: RedisLink,
    readonly token: string,
    readonly slot: number,
  ) {}
  release(outcome: 'success' | 'failure' | 'neutral'): void {
    this.link.settle(this, outcome);
  }
  extend(): void {
    this.link.extend(this);
  }
}

/**
 * One breaker's connection to the shared state. The breaker keeps deciding locally; this link publishes its
 * transitions (generation compare-and-set), pools its failures, asks for the cluster's probe lease, and
 * adopts what other instances decided. Every Redis operation of one link runs in order (one queue), and
 * none of them sits on the success path.
 */
export class RedisLink implements StoreLink {
  readonly kind = 'redis';
  readonly shared = true;
  readonly keys: BreakerKeys;
  /** Generation of the cluster state we last saw; -1 until the first read. */
  private knownGen = -1;
  /** Bumped whenever we adopt a generation made elsewhere: queued pushes based on older news are dropped. */
  private remoteEpoch = 0;
  /** The breaker's state as far as this link knows (its own transitions and what it adopted). */
  private local: LocalState = { state: 'closed', openUntil: 0 };
  /** A trip the quorum rule keeps to this instance. */
  private localOnly = false;
  /** The local state changed without reaching Redis: reconcile on the next read. */
  private dirty = false;
  private closed = false;
  /** The last status the store announced to this breaker (to tell a late joiner of a degraded store). */
  private told: StoreStatus = 'connected';
  /** The first read ran past commandTimeout and is still in flight: this breaker runs on local state. */
  private lagging = false;
  /** A success was recorded before the first read: the cluster's pooled streak starts over after it. */
  private recoverAfterRead = false;
  /** See StoreLink.ready; set by start(), cleared when the first read completed or was given up on. */
  ready: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private pendingFails = 0;
  private failSeq = 0;
  private flushScheduled = false;
  private readonly leases = new Set<RedisLease>();
  /** A probe's transition waiting for its lease release (the breaker calls both in the same tick). */
  private pendingProbe: {
    state: CircuitState;
    openUntil: number;
    cause: TransitionCause | undefined;
  } | null = null;
  /** Another instance holds every probe slot until about then (Date.now ms): answer null without Redis. */
  private busyUntil = 0;
  private readonly leaseMs: number;

  constructor(
    private readonly host: LinkHost,
    readonly id: string,
    private readonly sink: StoreSink,
    private readonly config: StoreBreakerConfig,
  ) {
    const slots = Math.max(1, Math.floor(config.halfOpenMaxCalls ?? 1));
    this.keys = breakerKeys(host.ns, host.options.prefix, sink.name, slots);
    const timeout = Number.isFinite(config.halfOpenTimeout) ? config.halfOpenTimeout : host.options.keyTtl;
    this.leaseMs = Math.max(1, Math.ceil(timeout + host.options.leaseGrace));
  }

  get status(): StoreStatus {
    return this.lagging ? 'degraded' : this.host.status;
  }

  get name(): string {
    return this.sink.name;
  }

  /** The local state changed without reaching Redis: the next backstop tick reads (and reconciles) it. */
  get needsRead(): boolean {
    return this.dirty && !this.closed;
  }

  // ------------------------------------------------------------ StoreLink

  transitioned(from: CircuitState, snapshot: SharedSnapshot, cause?: TransitionCause): void {
    if (this.closed) return;
    const to = snapshot.state;
    this.local = { state: to, openUntil: snapshot.openUntil };
    // OPEN -> HALF-OPEN follows from time on every instance alike; the probe lease decides who probes.
    if (to === 'half-open') return;
    if (this.host.options.quorum > 1 && cause !== 'manual') {
      if (from === 'closed' && to === 'open') {
        this.localOnly = true; // our own evidence protects us; the cluster opens on the quorum's
        return;
      }
      if (this.localOnly && from === 'half-open') {
        if (to === 'closed') this.localOnly = false;
        return;
      }
    }
    this.localOnly = false;
    if (from === 'half-open' && this.leases.size > 0 && cause !== 'manual') {
      const pending = { state: to, openUntil: snapshot.openUntil, cause };
      this.pendingProbe = pending;
      queueMicrotask(() => {
        if (this.pendingProbe !== pending) return;
        this.pendingProbe = null; // no lease release came with it (e.g. halfOpenTimeout): a plain transition
        this.push(pending, false);
      });
      return;
    }
    this.push(this.local, cause === 'manual');
  }

  failed(): void {
    if (this.closed || this.host.status === 'degraded') return;
    this.pendingFails++;
    // Before the first read the generation is unknown: the failures wait for it (pooled, not dropped).
    if (this.flushScheduled || this.knownGen < 0) return;
    // Failures of one event-loop turn go in one script call (a burst of N failures costs one round trip).
    this.flushScheduled = true;
    setImmediate(() => this.flushFails());
  }

  recovered(): void {
    if (this.closed || this.host.status === 'degraded') return;
    this.pendingFails = 0; // a success came after them: they no longer count
    if (this.knownGen < 0) {
      this.recoverAfterRead = true;
      return;
    }
    const gen = this.knownGen;
    this.enqueue(async () => {
      if (this.host.status === 'degraded') return;
      await this.run(scripts.recover, [gen]);
    }).catch(noop);
  }

  acquireProbe(): ProbeLease | null | Promise<ProbeLease | null> {
    if (this.closed || this.host.status === 'degraded' || this.knownGen < 0 || this.localOnly)
      return localLease;
    if (Date.now() < this.busyUntil) return null;
    return this.enqueue(async (): Promise<ProbeLease | null> => {
      if (this.host.status === 'degraded') return localLease;
      const token = randomUUID();
      const reply = await this.run(scripts.acquire, [token, this.leaseMs], (late) => {
        // Granted after we stopped waiting: hand the slot straight back.
        if (late.verdict === '1') this.sendSettle(token, Number(late.extra[0]), '', 0).catch(noop);
      });
      if (reply.verdict === '1') {
        this.knownGen = reply.gen;
        const lease = new RedisLease(this, token, Number(reply.extra[0]));
        this.leases.add(lease);
        return lease;
      }
      if (reply.verdict === '2') {
        const wait = Math.max(0, Number(reply.extra[0]));
        this.busyUntil = Date.now() + Math.min(wait, this.host.options.refreshInterval);
        return null;
      }
      if (reply.gen !== this.knownGen) {
        this.accept(reply, '');
        return null;
      }
      if (reply.state === 'closed') {
        // Same generation yet closed: our trip never reached Redis. Probe locally; the next read pushes it.
        this.dirty = true;
        return localLease;
      }
      return null; // OPEN for a few more ms on the server's clock
    }).catch((err: unknown) =>
      // Sent but unanswered: Redis may have granted the slot to us (we hand a late grant back) or to
      // nobody yet, and another instance may take it next; probing now could make two probes. This call
      // is rejected; the store is degraded now, so the next call probes on local state.
      err instanceof CommandOutcomeUnknown ? null : localLease,
    );
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.host.detach(this);
    for (const lease of this.leases) {
      lease.done = true;
      this.enqueue(() => this.sendSettle(lease.token, lease.slot, '', 0)).catch(noop);
    }
    this.leases.clear();
    return this.tail.then(noop);
  }

  // ------------------------------------------------------------ from the store

  /**
   * The first read, right after attach. `ready` settles when it completed, or after `commandTimeout` at
   * the latest: then the breaker runs on local state and hears `storeStatus('degraded')`.
   */
  start(): void {
    const ms = this.host.options.commandTimeout;
    this.ready = new Promise<void>((resolve) => {
      let done = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.ready = undefined;
        if (error !== undefined && !this.closed && this.told !== 'degraded') {
          this.notifyStatus('degraded', error);
        }
        resolve();
      };
      const timer = setTimeout(() => {
        this.lagging = true;
        finish(new StoreUnavailableError(`first read of "${this.name}" took longer than ${ms} ms`));
      }, ms);
      const caughtUp = () => {
        if (!this.lagging) return;
        this.lagging = false;
        if (this.host.status === 'connected' && this.told !== 'connected')
          this.notifyStatus('connected', undefined);
      };
      this.sync().then(
        () => {
          finish();
          caughtUp();
        },
        (error: unknown) => {
          this.lagging = false; // the store itself is degraded now: its status speaks for this breaker
          finish(error);
        },
      );
    });
  }

  /** Re-read the cluster state and reconcile (attach, backstop timer, rejoin). Rejects if Redis failed. */
  sync(): Promise<void> {
    return this.enqueue(async () => {
      // Subscribe first, then read: a change is either in the read or in a message, never in neither.
      const view = await this.host.read(this);
      await this.reconcile(view);
      this.afterFirstRead();
    });
  }

  notifyStatus(status: StoreStatus, error: unknown): void {
    if (this.closed || this.told === status) return; // each change once, though store and link both report
    this.told = status;
    this.sink.storeStatus(status, error);
  }

  onMessage(message: EventMessage): void {
    if (this.closed) return;
    if (message.kind === 'f') {
      this.busyUntil = 0; // a probe slot came free: the next call may ask
      return;
    }
    this.offer(message, message.origin);
  }

  /** A state the store learned for this breaker (message or catch-up read): adopt it if it is news. */
  offer(view: ClusterView, origin: string): void {
    if (this.closed || view.gen <= this.knownGen) return; // already known, or older news
    this.accept(view, origin);
  }

  /**
   * Called by a lease whose probe showed a sign of life (a stream chunk): the lease runs `leaseMs` from
   * now (compare-and-extend on its token). Sent at most every `leaseGrace / 2` ms: the breaker writes the
   * probe off `halfOpenTimeout` after its last chunk, and the lease (`halfOpenTimeout + leaseGrace` from
   * the last extension) still outlasts that, so the breaker's own verdict lands first, as at acquisition.
   * A lease already lost (expired, state moved on) stays lost: its result is void at release.
   */
  extend(lease: RedisLease): void {
    if (lease.done || this.closed || this.host.status === 'degraded') return;
    const now = Date.now();
    if (now - lease.extendedAt < this.host.options.leaseGrace / 2) return;
    lease.extendedAt = now;
    this.enqueue(async () => {
      if (lease.done || this.host.status === 'degraded') return;
      await this.run(scripts.extend, [lease.token, lease.slot, this.leaseMs]);
    }).catch(noop);
  }

  /** Called by a lease: give the slot back and, for a probe result, apply it in the same script. */
  settle(lease: RedisLease, outcome: 'success' | 'failure' | 'neutral'): void {
    if (lease.done) return;
    lease.done = true;
    this.leases.delete(lease);
    const pending = this.pendingProbe;
    this.pendingProbe = null;
    if (this.closed) return;
    if (pending !== null && outcome === 'neutral') {
      this.enqueue(() => this.sendSettle(lease.token, lease.slot, '', 0)).catch(noop);
      this.push(pending, false);
      return;
    }
    if (this.host.status === 'degraded') {
      if (pending !== null) this.dirty = true;
      return;
    }
    this.enqueue(async () => {
      const reply = await this.sendSettle(
        lease.token,
        lease.slot,
        pending?.state ?? '',
        pending?.openUntil ?? 0,
      );
      if (reply.verdict === '1') {
        this.knownGen = reply.gen;
        this.dirty = false;
      } else if (reply.verdict === '0') {
        // The lease had expired or the state moved on: the result is void and the cluster's state stands.
        this.accept(reply, '');
      }
    }).catch(() => {
      if (pending !== null) this.dirty = true;
    });
  }

  // ------------------------------------------------------------ internals

  /** Reports made before the generation was known go out now, on the generation just read. */
  private afterFirstRead(): void {
    if (this.recoverAfterRead) {
      this.recoverAfterRead = false;
      const gen = this.knownGen;
      this.enqueue(() => this.run(scripts.recover, [gen])).catch(noop);
    }
    if (this.pendingFails > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushFails());
    }
  }

  /** A per-breaker script: KEYS are this breaker's, ARGV starts with name, channel and key TTL. */
  private run(
    script: LuaScript,
    args: readonly (string | number)[],
    onLate?: (reply: ScriptReply) => void,
  ): Promise<ScriptReply> {
    const h = this.host;
    return h.exec(script, this.keys.all, [this.name, h.ns.channel, h.options.keyTtl, ...args], onLate);
  }

  private now(): number {
    return this.config.now ? this.config.now() : Date.now();
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.then(noop, noop);
    return run;
  }

  private sendSettle(token: string, slot: number, state: string, openUntil: number): Promise<ScriptReply> {
    const remaining = state === 'open' ? Math.round(openUntil - this.now()) : 0;
    return this.run(scripts.settle, [token, slot, state, remaining, this.id]);
  }

  /** Publish a local transition (compare-and-set on the generation we know; `force` for manual actions). */
  private push(snapshot: LocalState, force: boolean): void {
    this.dirty = true; // until Redis confirms
    if (this.host.status === 'degraded' || this.knownGen < 0) return;
    const epoch = this.remoteEpoch;
    this.enqueue(async () => {
      // News from another instance arrived after this transition and the breaker adopted it: ours is moot.
      if (!force && epoch !== this.remoteEpoch) {
        this.dirty = false;
        return;
      }
      if (this.host.status === 'degraded') return;
      await this.sendTransition(snapshot, force ? -1 : this.knownGen);
    }).catch(noop);
  }

  private async sendTransition(snapshot: LocalState, expectedGen: number): Promise<void> {
    let state = snapshot.state;
    let remaining = 0;
    if (state === 'half-open') state = 'open'; // an OPEN whose time is up: probing time, cluster-wide
    if (state === 'open') remaining = Math.max(0, Math.round(snapshot.openUntil - this.now()));
    const reply = await this.run(scripts.transition, [expectedGen, state, remaining, this.id]);
    this.dirty = false;
    if (reply.verdict === '1') this.knownGen = reply.gen;
    else this.accept(reply, ''); // lost the race: the cluster's state wins
  }

  private flushFails(): void {
    this.flushScheduled = false;
    const count = this.pendingFails;
    this.pendingFails = 0;
    if (count === 0 || this.closed || this.host.status === 'degraded') return;
    const gen = this.knownGen;
    const seq = ++this.failSeq;
    const o = this.host.options;
    const c = this.config;
    this.enqueue(async () => {
      if (this.host.status === 'degraded') return;
      const reply = await this.run(scripts.fail, [
        gen,
        count,
        this.id,
        seq,
        c.failMax,
        c.failWindow ?? 0,
        o.quorum,
        Math.max(0, Math.round(c.nextOpenDuration())),
      ]);
      // 1: our report opened the cluster; 0: the state had moved on. Either way, follow the cluster.
      if (reply.verdict !== '2' && reply.gen !== this.knownGen) this.accept(reply, '');
    }).catch(noop);
  }

  private effective(now: number): CircuitState {
    const l = this.local;
    return l.state === 'open' && l.openUntil <= now ? 'half-open' : l.state;
  }

  /** Bring local and cluster state together after a read. */
  private async reconcile(view: ClusterView): Promise<void> {
    const now = this.now();
    const local = this.effective(now);
    const protective = local === 'open' || local === 'half-open' || local === 'isolated';
    // The state vanished (Redis restarted without persistence, or the key expired) while we knew one.
    const lost = view.gen === 0 && this.knownGen > 0;
    if (protective && !this.localOnly && view.state === 'closed' && (this.dirty || lost)) {
      // Never lose an OPEN: what this instance saw while Redis was away becomes the cluster's state.
      await this.sendTransition(this.local, view.gen);
      return;
    }
    if (this.dirty && view.gen === this.knownGen && !this.localOnly) {
      // Nothing happened elsewhere meanwhile: our newer local decision stands.
      if (this.clusterEquivalent(view, now)) this.dirty = false;
      else await this.sendTransition(this.local, view.gen);
      return;
    }
    this.dirty = false;
    if (view.gen !== this.knownGen) this.accept(view, '');
  }

  private clusterEquivalent(view: ClusterView, now: number): boolean {
    const clusterEffective = view.state === 'open' && view.remaining <= 0 ? 'half-open' : view.state;
    return clusterEffective === this.effective(now);
  }

  /** Take the cluster's state as ours: tell the breaker unless it is already there. */
  private accept(view: ClusterView, origin: string): void {
    if (view.gen !== this.knownGen) this.remoteEpoch++;
    this.knownGen = view.gen;
    this.busyUntil = 0;
    if (origin === this.id) return; // our own transition coming back
    const now = this.now();
    if (this.localOnly && view.state === 'closed') return; // the quorum has not spoken; keep our own trip
    this.localOnly = false;
    const target: LocalState =
      view.state === 'open'
        ? { state: 'open', openUntil: now + view.remaining }
        : { state: view.state, openUntil: 0 };
    const current = this.effective(now);
    const wanted = view.state === 'open' && view.remaining <= 0 ? 'half-open' : view.state;
    if (
      current === wanted &&
      (wanted !== 'open' || Math.abs(this.local.openUntil - target.openUntil) < SAME_UNTIL_MS)
    )
      return;
    this.local = target;
    try {
      this.sink.adopt(target);
    } catch {
      // The breaker's own problem; the shared state is unaffected.
    }
  }
}
