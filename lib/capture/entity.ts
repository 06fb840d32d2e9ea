import { RecentCache } from '../util/recentCache';
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

/**
 * What a route pattern says about its entity, worked out once per pattern: an app has a few dozen
 * routes and sends them again and again. `param` names the id's parameter, at segment `index`.
 */
interface RouteEntity {
  ref: EntityRef;
  entityType: string | null;
  param: string | null;
  index: number;
  /** The pattern's segments line up one to one with a path's (no optional or repeated parts). */
  aligned: boolean;
  segments: number;
}

const ROUTE_ENTITIES = new RecentCache<string, RouteEntity>(1000);

function routeEntity(route: string): RouteEntity {
  let known = ROUTE_ENTITIES.get(route);
  if (!known) {
    known = parseRoute(route);
    ROUTE_ENTITIES.set(route, known);
  }
  return known;
}

function parseRoute(route: string): RouteEntity {
  const segments = route.split('/').filter((s) => s !== '');
  const shape = { aligned: !segments.some((s) => /[?*+()]/.test(s)), segments: segments.length };
  for (let i = segments.length - 1; i >= 0; i--) {
    const param = PARAM.exec(segments[i] ?? '');
    if (param) {
      const entityType = previousLiteral(segments, i);
      if (entityType === null) continue;
      return { ref: { entityType, entityId: null }, entityType, param: param[1] ?? '', index: i, ...shape };
    }
  }
  const entityType = previousLiteral(segments, segments.length);
  return { ref: entityType === null ? NONE : { entityType, entityId: null }, entityType, param: null, index: -1, ...shape };
}

function fromSegments(route: string, path: string, params: Record<string, unknown> | undefined): EntityRef {
  const known = routeEntity(route);
  if (known.param === null) return known.ref;
  const value = params?.[known.param] ?? segmentAt(path, known);
  const entityId = typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, MAX_ENTITY_LENGTH) : null;
  return { entityType: known.entityType, entityId };
}

/**
 * Express empties req.params when an error leaves the route, so a failed request's id is read from
 * the path instead, where the pattern's segments line up one to one with it.
 */
function segmentAt(path: string, route: RouteEntity): string | undefined {
  if (!route.aligned) return undefined;
  const pathSegments = path.split('/').filter((s) => s !== '');
  if (pathSegments.length !== route.segments) return undefined;
  const raw = pathSegments[route.index];
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
