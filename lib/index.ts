export { activityTracking, activityTrackingRouter, closeDefaultTracker } from './defaultTracker';
export { createActivityTracker, type ActivityTracker } from './tracker';
export { migrate } from './store/schema';
export { verifyChain, createCheckpoint, verifyCheckpoint, type ChainVerification, type IntegrityProblem, type SignedCheckpoint, type CheckpointKey } from './integrity';
export { migrationSource, MIGRATIONS_TABLE } from '../migrations';
export { ActivityTrackingError, type ActivityTrackingErrorCode } from './errors';
export { ACTIVITY_TYPES } from './types';
export type { ActivityEvent, ActivityType, DeviceInfo, GeoLocation, Logger, Options, RecordInput, RequestActivity } from './types';
export type { RecorderStats } from './recorder/recorder';
