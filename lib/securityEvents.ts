/**
 * Security event names from the OWASP Logging Vocabulary Cheat Sheet, so apps name them the same
 * way: `tracker.record({ action: SECURITY_EVENTS.AUTHN_LOGIN_FAIL, ... })`. The middleware uses
 * them for what it detects itself (a login that succeeded or failed, a request refused as rate
 * limited). `AUTHN_TOKEN_INVALID` and `AUTHN_TOKEN_EXPIRED` are this package's additions, for
 * links and tokens that fail before any reuse question arises; the alert rules read all three.
 */
export const SECURITY_EVENTS = {
  AUTHN_LOGIN_SUCCESS: 'authn_login_success',
  AUTHN_LOGIN_SUCCESS_AFTER_FAIL: 'authn_login_successafterfail',
  AUTHN_LOGIN_FAIL: 'authn_login_fail',
  AUTHN_LOGIN_FAIL_MAX: 'authn_login_fail_max',
  AUTHN_LOGIN_LOCK: 'authn_login_lock',
  AUTHN_PASSWORD_CHANGE: 'authn_password_change',
  AUTHN_PASSWORD_CHANGE_FAIL: 'authn_password_change_fail',
  AUTHN_IMPOSSIBLE_TRAVEL: 'authn_impossible_travel',
  AUTHN_TOKEN_CREATED: 'authn_token_created',
  AUTHN_TOKEN_REVOKED: 'authn_token_revoked',
  AUTHN_TOKEN_REUSE: 'authn_token_reuse',
  AUTHN_TOKEN_DELETE: 'authn_token_delete',
  AUTHN_TOKEN_INVALID: 'authn_token_invalid',
  AUTHN_TOKEN_EXPIRED: 'authn_token_expired',
  AUTHZ_FAIL: 'authz_fail',
  AUTHZ_CHANGE: 'authz_change',
  AUTHZ_ADMIN: 'authz_admin',
  EXCESS_RATE_LIMIT_EXCEEDED: 'excess_rate_limit_exceeded',
  UPLOAD_COMPLETE: 'upload_complete',
  UPLOAD_STORED: 'upload_stored',
  UPLOAD_VALIDATION: 'upload_validation',
  UPLOAD_DELETE: 'upload_delete',
  INPUT_VALIDATION_FAIL: 'input_validation_fail',
  MALICIOUS_EXCESS_404: 'malicious_excess_404',
  MALICIOUS_EXTRANEOUS: 'malicious_extraneous',
  MALICIOUS_ATTACK_TOOL: 'malicious_attack_tool',
  MALICIOUS_CORS: 'malicious_cors',
  MALICIOUS_DIRECT_REFERENCE: 'malicious_direct_reference',
  PRIVILEGE_PERMISSIONS_CHANGED: 'privilege_permissions_changed',
  SENSITIVE_CREATE: 'sensitive_create',
  SENSITIVE_READ: 'sensitive_read',
  SENSITIVE_UPDATE: 'sensitive_update',
  SENSITIVE_DELETE: 'sensitive_delete',
  SEQUENCE_FAIL: 'sequence_fail',
  SESSION_CREATED: 'session_created',
  SESSION_RENEWED: 'session_renewed',
  SESSION_EXPIRED: 'session_expired',
  SESSION_USE_AFTER_EXPIRE: 'session_use_after_expire',
  SYS_STARTUP: 'sys_startup',
  SYS_SHUTDOWN: 'sys_shutdown',
  SYS_RESTART: 'sys_restart',
  SYS_CRASH: 'sys_crash',
  SYS_MONITOR_DISABLED: 'sys_monitor_disabled',
  SYS_MONITOR_ENABLED: 'sys_monitor_enabled',
  USER_CREATED: 'user_created',
  USER_UPDATED: 'user_updated',
  USER_ARCHIVED: 'user_archived',
  USER_DELETED: 'user_deleted',
} as const;

export type SecurityEvent = (typeof SECURITY_EVENTS)[keyof typeof SECURITY_EVENTS];
