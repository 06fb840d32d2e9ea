import type { ActivityType } from '../types';
import { safeDecode } from '../util/paths';

export const MAX_ENTITY_LENGTH = 255;
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
export function entityFromRoute(route: string | null, path: string, params: Record<string, unknown> | undefined, type: ActivityType): EntityRef {
  if (route === null || !ENTITY_TYPES.has(type)) return NONE;
  const entity = fromSegments(route, path, params);
  // A failing route names an entity only when it names which one: /api/fail is no kind of thing.
  return type === 'error' && entity.entityId === null ? NONE : entity;
}

/** An app has a few dozen routes and sends them again and again: split each pattern once. */
const ROUTE_SEGMENTS = new Map<string, string[]>();

function segmentsOf(route: string): string[] {
  let segments = ROUTE_SEGMENTS.get(route);
  if (!segments) {
    segments = route.split('/').filter((s) => s !== '');
    if (ROUTE_SEGMENTS.size >= 1000) ROUTE_SEGMENTS.clear();
    ROUTE_SEGMENTS.set(route, segments);
  }
  return segments;
}

function fromSegments(route: string, path: string, params: Record<string, unknown> | undefined): EntityRef {
  const segments = segmentsOf(route);
  for (let i = segments.length - 1; i >= 0; i--) {
    const param = PARAM.exec(segments[i] ?? '');
    if (param) {
      const entityType = previousLiteral(segments, i);
      if (entityType === null) continue;
      const value = params?.[param[1] ?? ''] ?? segmentAt(path, segments, i);
      const entityId = typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, MAX_ENTITY_LENGTH) : null;
      return { entityType, entityId };
    }
  }
  const last = previousLiteral(segments, segments.length);
  return last === null ? NONE : { entityType: last, entityId: null };
}

/**
 * Express empties req.params when an error leaves the route, so a failed request's id is read from
 * the path instead, where the pattern's segments line up one to one with it.
 */
function segmentAt(path: string, routeSegments: string[], index: number): string | undefined {
  if (routeSegments.some((s) => /[?*+()]/.test(s))) return undefined;
  const pathSegments = path.split('/').filter((s) => s !== '');
  if (pathSegments.length !== routeSegments.length) return undefined;
  const raw = pathSegments[index];
  return raw === undefined ? undefined : safeDecode(raw);
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
