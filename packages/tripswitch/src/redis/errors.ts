/** Our command could not reach Redis in time (not connected, timed out, or the connection failed). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`tripswitch/redis: ${message}`, options);
  }
}
