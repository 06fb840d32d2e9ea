export { activityTracking, activityTrackingRouter, closeDefaultTracker } from './defaultTracker';
export { createActivityTracker, type ActivityTracker } from './tracker';
export { migrate } from './store/schema';
export { enableRowLevelSecurity, disableRowLevelSecurity, rowLevelSecurityStatus, rowLevelSecurityBinding, TENANT_SETTING, type RowLevelSecurityBinding } from './store/rowLevelSecurity';
export { applyTenantScope, tenantCondition, EVERY_TENANT, type TenantScope } from './store/reports/tenantScope';
export { verifyChain, createCheckpoint, verifyCheckpoint, checkpointKeyId, type ChainVerification, type IntegrityProblem, type SignedCheckpoint, type CheckpointKey } from './integrity';
export { migrationSource, MIGRATIONS_TABLE } from '../migrations';
export {
  writeArchive, readBackArchive, verifyArchiveAgainstChain, folderArchiveSink, archiveFileNames, archiveSignatureText, ARCHIVE_FORMAT, ARCHIVE_PROBLEMS,
  type ArchiveSink, type ArchiveManifest, type ArchiveSignature, type ArchiveReadBack, type ArchiveChainCheck, type ArchiveFinding, type ArchiveProblem, type WriteArchiveOptions,
} from './archive';
export { grantWriterRole, writerGrantStatements } from './store/writerRole';
export { ActivityTrackingError, type ActivityTrackingErrorCode } from './errors';
export { ACTIVITY_TYPES, ACTOR_TYPES, EVENT_STATUSES, SEVERITIES, RISK_FACTORS } from './types';
export type { RiskFactor, RiskOptions } from './types';
export type { ActivityEvent, ActivityType, ActorType, Changes, DeviceInfo, EventStatus, FieldChange, GeoLocation, Logger, Options, RecordInput, RequestActivity, Severity } from './types';
export { SECURITY_EVENTS, type SecurityEvent } from './securityEvents';
export type { RecorderStats } from './recorder/recorder';
export { ALERT_RULES, type Alert, type AlertOptions, type AlertRuleName, type AlertRuleSettings } from './types';
export { verifyWebhookSignature, signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './alerts/webhook';
export { TOKEN_ABUSE_ACTIONS } from './alerts/rules';
