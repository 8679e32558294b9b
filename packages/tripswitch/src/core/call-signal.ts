import { Deadline } from './deadlines.js';
import type { CallContext } from './types.js';

/**
 * A call's own context whose `signal` costs nothing until it is read: the `AbortController` is created on
 * the first read (creating one costs microseconds on Node 20), already aborted if the call was aborted
 * before. It is also a `Deadline`, so a timed call is one object: context, list node and settle state.
 * Subclasses that queue a deadline override `expire`.
 */
export class CallSignal extends Deadline implements CallContext {
  readonly attempt: number;
  #controller: AbortController | undefined = undefined;
  #abortedWith: { reason: unknown } | undefined = undefined;

  constructor(attempt = 1) {
    super();
    this.attempt = attempt;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortedWith !== undefined) this.#controller.abort(this.#abortedWith.reason);
    }
    return this.#controller.signal;
  }

  /** Whether `abortCall` has run. */
  get callAborted(): boolean {
    return this.#abortedWith !== undefined;
  }

  /** Aborts this call's own signal (once; later reasons are ignored). */
  abortCall(reason: unknown): void {
    if (this.#abortedWith !== undefined) return;
    this.#abortedWith = { reason };
    this.#controller?.abort(reason);
  }

  expire(): void {}
}
