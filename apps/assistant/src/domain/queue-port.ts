// How the composition root asks for a durable queue: a factory that gets what every queue needs. The
// Redis adapter (BullMQ) and the storage adapters (StoreJobQueue) both fit it, so the wiring in app.ts
// chooses one from the configuration and no adapter needs to know about app.ts.
import type { Storage } from './storage.js';
import type { JobQueue, ModelGate, QueryResponse } from './types.js';

/** What a queue logs through (pino's Logger fits). */
export interface QueueLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface QueueContext {
  storage: Storage;
  /** Answers one job from the model (no fallbacks); throws while the model cannot answer. */
  run(userId: string, query: string, signal: AbortSignal): Promise<QueryResponse>;
  /** Open while no model would take a call (the primary's breaker, or either of two models'). */
  breaker: ModelGate;
  leaseMs: number;
  logger: QueueLogger;
}

export type QueueFactory = (ctx: QueueContext) => JobQueue;
