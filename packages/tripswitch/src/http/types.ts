/** Why a call failed, as far as the breaker and the retry policy care. */
export type FailureReason =
  | 'ok'
  | 'server_error'
  | 'model_loading'
  | 'rate_limited'
  | 'quota_exhausted'
  | 'request_timeout'
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'dns'
  | 'network'
  | 'client_error'
  | 'aborted'
  | 'unknown';

export interface HttpClassification {
  /** The upstream failed: count it against the circuit (what `isHttpFailure` answers). */
  readonly failure: boolean;
  /** Trying the same request again later may succeed (what `isRetryable` answers). */
  readonly retryable: boolean;
  readonly reason: FailureReason;
  /** Milliseconds the upstream asked us to wait (Retry-After, retry-after-ms, HF `estimated_time`). */
  readonly retryAfter?: number;
}
