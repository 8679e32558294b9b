export { type BulkheadOptions, BulkheadPolicy, bulkhead } from './bulkhead.js';
export { type CoalesceOptions, CoalescePolicy, coalesce } from './coalesce.js';
export { type FallbackOptions, FallbackPolicy, type FallbackProducer, fallback } from './fallback.js';
export { type ExtraResultOf, type PipelineMember, PipelinePolicy, pipeline, wrap } from './pipeline.js';
export {
  type BackoffOptions,
  type Jitter,
  type RetryInfo,
  type RetryOptions,
  RetryPolicy,
  retry,
} from './retry.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { type TimeoutOptions, TimeoutPolicy, type TimeoutStrategy, timeout } from './timeout.js';
