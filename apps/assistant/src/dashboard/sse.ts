import type { ServerResponse } from 'node:http';

/** One connected page. `seen` lets the renderer send a breaker's whole history only once per connection. */
export interface SseClient {
  readonly id: number;
  readonly seen: Set<string>;
}

export interface SseHubOptions<T> {
  maxClients: number;
  /** Streams one client address may hold at once (so one client cannot take them all). */
  maxClientsPerAddress: number;
  /** ms between `snapshot` events. */
  intervalMs: number;
  /** ms between comment lines that keep proxies from closing a quiet stream. */
  heartbeatMs: number;
  /** A client whose unsent output exceeds this is too slow to follow and is dropped. */
  maxBufferedBytes: number;
  /** Gathers what every client's snapshot is built from, once per tick. */
  collect: () => T | Promise<T>;
  /** The snapshot for one client. */
  render: (data: T, client: SseClient) => unknown;
  /** Told about collect/render errors (the stream carries on with the next tick). */
  onError?: (err: unknown) => void;
}

interface Connection extends SseClient {
  res: ServerResponse;
  address: string;
}

/**
 * Server-Sent Events fan-out: one interval and one heartbeat timer for all clients, running only while
 * someone is connected; a bounded number of clients; every resource released when a client goes away.
 */
export class SseHub<T> {
  readonly #o: SseHubOptions<T>;
  readonly #clients = new Map<number, Connection>();
  readonly #perAddress = new Map<string, number>();
  #nextId = 1;
  #eventId = 0;
  #tick: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #busy = false;
  #again = false;
  #closed = false;

  constructor(options: SseHubOptions<T>) {
    this.#o = options;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** False when the hub is full or closed: the caller answers 503 instead. */
  get accepting(): boolean {
    return !this.#closed && this.#clients.size < this.#o.maxClients;
  }

  /**
   * Why a new stream from `address` would be refused: `full` (all streams taken or the hub closed),
   * `address` (this address holds its share already), or undefined when it would be accepted.
   */
  refusal(address: string): 'full' | 'address' | undefined {
    if ((this.#perAddress.get(address) ?? 0) >= this.#o.maxClientsPerAddress) return 'address';
    return this.accepting ? undefined : 'full';
  }

  /** Takes over `res` as an event stream (headers already sent by the caller are not expected). */
  accept(res: ServerResponse, address = ''): SseClient | undefined {
    if (this.refusal(address) !== undefined) return undefined;
    const client: Connection = { id: this.#nextId++, seen: new Set(), res, address };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Stops nginx-style proxies from buffering the stream.
      'x-accel-buffering': 'no',
      // The hijacked response skips the server's onSend hook: the hardening headers are set here.
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    // Reconnect quickly after a drop; EventSource does the rest by itself.
    res.write('retry: 2000\n\n');
    this.#clients.set(client.id, client);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    const drop = () => this.#drop(client.id);
    res.once('close', drop);
    res.once('error', drop);
    this.#startTimers();
    void this.#send([client]);
    return client;
  }

  /** Sends one event to every client now (state changes do not wait for the next tick). */
  broadcast(event: string, data: unknown): void {
    const payload = this.#frame(event, data);
    for (const client of [...this.#clients.values()]) this.#write(client, payload);
  }

  /** An extra snapshot as soon as possible, coalescing bursts of requests into one. */
  refreshSoon(): void {
    if (this.#clients.size === 0) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    setImmediate(() => void this.#send([...this.#clients.values()]));
  }

  /** Ends every stream and refuses new ones (server shutdown). */
  close(): void {
    this.#closed = true;
    for (const client of [...this.#clients.values()]) {
      client.res.end();
      this.#drop(client.id);
    }
    this.#stopTimers();
  }

  async #send(targets: Connection[]): Promise<void> {
    if (targets.length === 0) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      const data = await this.#o.collect();
      for (const client of targets) {
        if (!this.#clients.has(client.id)) continue;
        this.#write(client, this.#frame('snapshot', this.#o.render(data, client)));
      }
    } catch (err) {
      this.#o.onError?.(err);
    } finally {
      this.#busy = false;
    }
    if (this.#again) {
      this.#again = false;
      this.refreshSoon();
    }
  }

  #frame(event: string, data: unknown): string {
    this.#eventId++;
    return `id: ${this.#eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  #write(client: Connection, payload: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) {
      this.#drop(client.id);
      return;
    }
    if (res.writableLength > this.#o.maxBufferedBytes) {
      res.destroy();
      this.#drop(client.id);
      return;
    }
    res.write(payload);
  }

  #drop(id: number): void {
    const client = this.#clients.get(id);
    if (client === undefined) return;
    this.#clients.delete(id);
    const left = (this.#perAddress.get(client.address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(client.address, left);
    else this.#perAddress.delete(client.address);
    if (this.#clients.size === 0) this.#stopTimers();
  }

  #startTimers(): void {
    if (this.#tick !== undefined) return;
    this.#tick = setInterval(() => void this.#send([...this.#clients.values()]), this.#o.intervalMs);
    this.#heartbeat = setInterval(() => {
      for (const client of [...this.#clients.values()]) this.#write(client, ': heartbeat\n\n');
    }, this.#o.heartbeatMs);
    // The hub never keeps the process alive on its own.
    this.#tick.unref();
    this.#heartbeat.unref();
  }

  #stopTimers(): void {
    clearInterval(this.#tick);
    clearInterval(this.#heartbeat);
    this.#tick = undefined;
    this.#heartbeat = undefined;
  }
}
