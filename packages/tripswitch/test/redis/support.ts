import type { SharedSnapshot, StoreBreakerConfig, StoreSink, StoreStatus } from 'tripswitch';

/** A breaker stand-in for store-level tests: records what the store tells it. */
export interface RecordingSink extends StoreSink {
  readonly adopted: SharedSnapshot[];
  readonly statuses: StoreStatus[];
  last(): SharedSnapshot | undefined;
}

export function recordingSink(name: string): RecordingSink {
  const adopted: SharedSnapshot[] = [];
  const statuses: StoreStatus[] = [];
  return {
    name,
    adopted,
    statuses,
    adopt: (snapshot) => adopted.push(snapshot),
    storeStatus: (status) => statuses.push(status),
    last: () => adopted[adopted.length - 1],
  };
}

export function breakerConfig(overrides: Partial<StoreBreakerConfig> = {}): StoreBreakerConfig {
  return {
    failMax: 3,
    failWindow: undefined,
    halfOpenTimeout: 5_000,
    nextOpenDuration: () => 1_000,
    now: () => Date.now(),
    ...overrides,
  };
}

/** Poll until `check` is true; fails the test with `what` after `timeoutMs` (generous: shared machine). */
export async function eventually(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
/** A breaker name no other test uses (tests share one Redis). */
export function uniqueName(label: string): string {
  return `${label}-${process.pid}-${++counter}`;
}
