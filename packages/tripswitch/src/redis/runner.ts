import type { Cluster, Redis } from 'ioredis';
import { CommandOutcomeUnknown, StoreUnavailableError } from './errors.js';
import type { LuaScript } from './scripts.js';
import { parseReply, type ScriptReply } from './snapshot.js';

/**
 * Runs our scripts so that nothing ever waits on an unreachable Redis: a command is only sent on a ready
 * connection (no offline queue, whatever the user's client is configured with), and it gives up after
 * `timeoutMs`. The one wait allowed is for the very first connection, bounded by the same timeout.
 */
export class CommandRunner {
  private everReady: boolean;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly timeoutMs: number,
  ) {
    this.everReady = client.status === 'ready';
  }

  markReady(): void {
    this.everReady = true;
  }

  /**
   * Run `script`. `onLate` receives a reply that arrives after we gave up (e.g. a lease granted too late,
   * which the caller must hand back).
   */
  exec(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onLate?: (reply: ScriptReply) => void,
  ): Promise<ScriptReply> {
    return this.call(script.name, (client) => script.run(client, keys, args).then(parseReply), onLate);
  }

  /**
   * Run any command (or script) under the same rules: a ready connection, `timeoutMs` at most. A failure
   * once the command was handed to the connection is a `CommandOutcomeUnknown`: it may have run in Redis.
   */
  async call<T>(
    name: string,
    work: (client: Redis | Cluster) => Promise<T>,
    onLate?: (reply: T) => void,
  ): Promise<T> {
    const started = Date.now();
    if (this.client.status !== 'ready') await this.firstConnection();
    const left = Math.max(1, this.timeoutMs - (Date.now() - started));
    let answered = false;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let recheck: ReturnType<typeof setImmediate> | undefined;
    const running = work(this.client);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // After a stall of this process (busy or starved event loop, GC pause) the timers run before the
        // sockets are read: a reply that arrived in time may be waiting unread. Let one poll phase read
        // it before the command counts as unanswered (a stall of ours is not an unreachable Redis).
        recheck = setImmediate(() => {
          if (answered) return;
          timedOut = true;
          reject(new CommandOutcomeUnknown(`${name} timed out after ${this.timeoutMs} ms`));
        });
      }, left);
    });
    // A reply after the deadline goes to onLate; an error after it is of no interest to anyone.
    running.then(
      (reply) => {
        answered = true;
        if (timedOut) onLate?.(reply);
      },
      () => {
        answered = true;
      },
    );
    try {
      return await Promise.race([running, deadline]);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new CommandOutcomeUnknown(`${name} failed: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      if (recheck !== undefined) clearImmediate(recheck);
    }
  }

  private firstConnection(): Promise<void> {
    const client = this.client;
    const status = client.status;
    if (this.everReady || (status !== 'wait' && status !== 'connecting' && status !== 'connect')) {
      return Promise.reject(new StoreUnavailableError(`connection is ${status}`));
    }
    if (status === 'wait') client.connect().catch(() => {});
    return new Promise((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        reject(new StoreUnavailableError(`not connected within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      client.once('ready', onReady);
    });
  }
}
