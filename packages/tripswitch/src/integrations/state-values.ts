import type { CircuitState } from '../core/types.js';

/** The numeric `circuit_breaker_state` values (as in the seed guide): 0 closed, 1 open, 2 half-open, … */
export const STATE_VALUES: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  open: 1,
  'half-open': 2,
  isolated: 3,
  disabled: 4,
};
