/**
 * `tripswitch/testing`: a clock you move by hand and a fault-injection (chaos) policy.
 * @module tripswitch/testing
 */
export {
  ChaosError,
  type ChaosFault,
  type ChaosLatency,
  type ChaosMode,
  type ChaosModeOptions,
  type ChaosOptions,
  type ChaosOutage,
  ChaosPolicy,
  type ChaosStats,
  chaos,
} from './chaos.js';
export { ManualClock } from './manual-clock.js';
export { seededRandom } from './random.js';
