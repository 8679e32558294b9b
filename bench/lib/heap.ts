import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cachedGc: (() => void) | undefined;

/**
 * A full garbage collection. `node --expose-gc` provides `global.gc`; without the flag (the test runner)
 * the flag is switched on at run time and a fresh context hands out its `gc`.
 */
export function gc(): void {
  if (cachedGc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') cachedGc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      cachedGc = runInNewContext('gc') as () => void;
    }
  }
  // Several passes: weak references and finalizers free more on the second and third.
  cachedGc();
  cachedGc();
  cachedGc();
}

/** Heap in use after a full collection. */
export function settledHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Counts timers created and not yet cleared while enabled, including `unref()`ed ones. */
export class TimerCounter {
  private readonly live = new Set<number>();
  private readonly hook = createHook({
    init: (id, type) => {
      if (type === 'Timeout') this.live.add(id);
    },
    destroy: (id) => {
      this.live.delete(id);
    },
  });

  enable(): this {
    this.hook.enable();
    return this;
  }

  disable(): void {
    this.hook.disable();
  }

  get count(): number {
    return this.live.size;
  }
}

/** Ref'ed timers as Node reports them (`unref()`ed timers are invisible here). */
export function refTimerCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

export interface FootprintResult<T> {
  /** Heap bytes per object after gc, the holding array excluded. */
  bytesPerObject: number;
  /** Timers (including unref'ed) per object, from async_hooks. */
  timersPerObject: number;
  /** Ref'ed timers in total, from `process.getActiveResourcesInfo()`. */
  refTimers: number;
  /** The objects, still alive, so the caller can dispose of them. */
  objects: T[];
}

/** Creates `count` objects and measures what they hold while idle. */
export function footprint<T>(count: number, make: () => T): FootprintResult<T> {
  const objects = new Array<T>(count).fill(undefined as T); // allocated before the baseline
  const refBefore = refTimerCount();
  const timers = new TimerCounter();
  const before = settledHeap();
  timers.enable();
  try {
    for (let i = 0; i < count; i++) objects[i] = make();
  } finally {
    timers.disable();
  }
  const after = settledHeap();
  return {
    bytesPerObject: (after - before) / count,
    timersPerObject: timers.count / count,
    refTimers: refTimerCount() - refBefore,
    objects,
  };
}
