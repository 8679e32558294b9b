/**
 * Circuit states as small integers: the hot path compares these, names appear only at the API edge
 * (`state`, events, errors, stores).
 */
import type { CircuitState } from './types.js';

export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
export const ISOLATED = 3;
export const DISABLED = 4;
/** A state as the breaker holds it. */
export type StateCode = 0 | 1 | 2 | 3 | 4;

/** Code → public name. */
export const STATE_NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated', 'disabled'];

/** Public name → code (for snapshots and states decided by a store). */
export const STATE_CODES: Readonly<Record<CircuitState, StateCode>> = {
  closed: CLOSED,
  open: OPEN,
  'half-open': HALF_OPEN,
  isolated: ISOLATED,
  disabled: DISABLED,
};
