export type { AdminAction } from './admin.js';
export { ADMIN_ACTIONS, adminTokenMatches } from './admin.js';
export type { DashboardOptions, DashboardPlugin } from './plugin.js';
export { dashboardPlugin } from './plugin.js';
export type { StateChange } from './recorder.js';
export { BreakerRecorder } from './recorder.js';
export type { Bucket, Outcome, TimelineSeries } from './timeline.js';
export { STATE_CODES, Timeline } from './timeline.js';
export type { BreakerView, DashboardSnapshot } from './view.js';
