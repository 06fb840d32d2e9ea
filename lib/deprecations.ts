/**
 * Old spellings of public inputs that still work for one minor version. Each warns once per process
 * (Node's DeprecationWarning, so `--no-deprecation` and `--throw-deprecation` apply), naming the new one.
 */
const DEPRECATIONS = {
  AT_DEP_RECORD_ACTOR: 'record({ actor: { id, type, role, name } }) is deprecated: pass userId, actorType, actorRole and actorName (the names of the stored row). It will be removed in the next minor version.',
  AT_DEP_RECORD_ENTITY: 'record({ entity: { type, id, name } }) is deprecated: pass entityType, entityId and entityName (the names of the stored row). It will be removed in the next minor version.',
  AT_DEP_RECORD_METADATA: 'record({ metadata }) is deprecated: pass details (the name of the stored column). It will be removed in the next minor version.',
  AT_DEP_REQUEST_ACTIVITY_TYPE: 'req.activity.type is deprecated: set req.activity.activityType (the name of the stored column). It will be removed in the next minor version.',
} as const;

export type DeprecationCode = keyof typeof DEPRECATIONS;

const warned = new Set<DeprecationCode>();

export function warnDeprecated(code: DeprecationCode): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(DEPRECATIONS[code], { type: 'DeprecationWarning', code });
}
