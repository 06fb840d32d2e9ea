import type { ActivityEvent } from '../types';
import { uuidv7 } from '../util/ids';
import { ACTIVITY_ROW } from './columns';

/** Every field an event must carry, empty: the registry's non-optional columns, set to null. */
const EMPTY: Readonly<Record<string, null>> = Object.freeze(Object.fromEntries(
  Object.entries(ACTIVITY_ROW).filter(([, spec]) => !('optional' in spec && spec.optional)).map(([field]) => [field, null]),
));

/**
 * A row the package writes itself (a request whose capture failed, a retention record, an event an
 * app records): the fields given, every other column empty. Defaults: a `system_action` that
 * succeeded, now, with a new time-ordered id. A column added to the registry needs no edit here.
 */
export function systemEvent(fields: Partial<ActivityEvent>): ActivityEvent {
  const startTime = fields.startTime ?? Date.now();
  return { ...EMPTY, activityType: 'system_action', success: true, ...fields, startTime, id: fields.id ?? uuidv7(startTime) } as ActivityEvent;
}
