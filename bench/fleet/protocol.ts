/** Messages between the fleet simulation (fleet.ts) and its worker processes (worker.ts). */
export interface WorkerConfig {
  readonly url: string;
  readonly prefix: string;
  readonly instances: number;
  /** Global index of this worker's first instance (for reports). */
  readonly firstInstance: number;
  readonly breakers: number;
  readonly refreshInterval: number;
  readonly openDuration: number;
}

export type ToWorker =
  | { cmd: 'watch'; names: string[] }
  | { cmd: 'trip'; index: number }
  | { cmd: 'close'; indexes: number[] }
  | { cmd: 'open-all' }
  | { cmd: 'close-all' }
  | { cmd: 'storm-start'; count: number; rate: number }
  | { cmd: 'storm-stop' }
  | { cmd: 'stats' }
  | { cmd: 'exit' };

export type FromWorker =
  | { type: 'ready'; rss: number }
  | { type: 'seen'; name: string; instance: number; at: number }
  | { type: 'tripped'; name: string; at: number }
  | { type: 'stats'; degraded: number; gaps: number; messages: number }
  | { type: 'closed' };
