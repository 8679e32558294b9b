/** Our command could not reach Redis in time (not connected, timed out, or the connection failed). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`tripswitch/redis: ${message}`, options);
  }
}

/**
 * Internal: the command was sent but no reply came in time (or the connection failed under it), so it may
 * have run in Redis. A lease request in this state must not count as granted.
 */
export class CommandOutcomeUnknown extends StoreUnavailableError {}
