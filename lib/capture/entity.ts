import type { ActivityType } from '../types';

const MAX_ENTITY_LENGTH = 255;
/** Path segments that name a namespace, not a kind of thing. */
const NAMESPACE_SEGMENT = /^(api|v\d+|rest|public|internal|admin)$/i;
const PARAM = /^\{?[:*](\w+)/;

const ENTITY_TYPES: ReadonlySet<ActivityType> = new Set([
  'data_create', 'data_update', 'data_delete', 'data_view', 'file_upload', 'file_download', 'error',
]);

export interface EntityRef {
  entityType: string | null;
  entityId: string | null;
}

const NONE: EntityRef = { entityType: null, entityId: null };

/**
 * Reads the entity from the matched route: the literal segment before the last parameter names the
 * type and that parameter is the id (`/api/items/:id` → items, req.params.id); a route without a
 * parameter names only the type (`POST /api/items` → items).
 */
export function entityFromRoute(route: string | null, params: Record<string, unknown> | undefined, type: ActivityType): EntityRef {
  if (route === null || !ENTITY_TYPES.has(type)) return NONE;
  const segments = route.split('/').filter((s) => s !== '');
  for (let i = segments.length - 1; i >= 0; i--) {
    const param = PARAM.exec(segments[i] ?? '');
    if (param) {
      const entityType = previousLiteral(segments, i);
      if (entityType === null) continue;
      const value = params?.[param[1] ?? ''];
      const entityId = typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, MAX_ENTITY_LENGTH) : null;
      return { entityType, entityId };
    }
  }
  const last = previousLiteral(segments, segments.length);
  return last === null ? NONE : { entityType: last, entityId: null };
}

function previousLiteral(segments: string[], before: number): string | null {
  for (let i = before - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    if (PARAM.test(segment)) return null;
    if (!NAMESPACE_SEGMENT.test(segment) && /^[\w.-]+$/.test(segment)) return segment.slice(0, MAX_ENTITY_LENGTH);
    if (NAMESPACE_SEGMENT.test(segment)) return null;
  }
  return null;
}
