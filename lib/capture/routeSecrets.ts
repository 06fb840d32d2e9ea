/**
 * A route such as `/api/password-resets/:token` carries a secret in the path itself. Its params
 * are redacted by name like any other field; this finds the values of such params so that the
 * path and the entity id of the row lose them too.
 */
import { RecentCache } from '../util/recentCache';
import type { Sanitizer } from './sanitize';
import { MAX_ENTITY_LENGTH } from './entity';
import { safeDecode } from '../util/paths';

interface RouteShape {
  /** Names of the route's sensitive params. */
  names: string[];
  /** Index of the path segment each whole-segment sensitive param sits at; null when segments need not line up. */
  segments: number[] | null;
}

const NO_SECRETS: RouteShape = { names: [], segments: null };
/** What nearly every request gets: one shared empty list rather than a new one each time. */
const NO_VALUES: readonly string[] = Object.freeze([]);
const PARAM_NAME = /[:*](\w+)/g;
const WHOLE_PARAM = /^\{?[:*](\w+)\}?$/;
const MAX_ROUTES = 1000;

/** Per sanitizer, since the sensitive names depend on its options; a route is read once. */
const shapes = new WeakMap<Sanitizer, RecentCache<string, RouteShape>>();

function shapeOf(sanitizer: Sanitizer, route: string): RouteShape {
  let byRoute = shapes.get(sanitizer);
  if (!byRoute) {
    byRoute = new RecentCache(MAX_ROUTES);
    shapes.set(sanitizer, byRoute);
  }
  let shape = byRoute.get(route);
  if (shape) return shape;
  const names: string[] = [];
  for (const m of route.matchAll(PARAM_NAME)) {
    const name = m[1] ?? '';
    if (sanitizer.isSensitiveKey(name)) names.push(name);
  }
  shape = NO_SECRETS;
  if (names.length > 0) {
    const parts = route.split('/').filter((s) => s !== '');
    // Optional parts, wildcards and regular expressions make segments not line up with the path.
    const aligned = !/[?*+(){}[\]]/.test(route);
    const segments: number[] = [];
    parts.forEach((part, index) => {
      const whole = WHOLE_PARAM.exec(part);
      if (whole && names.includes(whole[1] ?? '')) segments.push(index);
    });
    shape = { names, segments: aligned ? segments : null };
  }
  byRoute.set(route, shape);
  return shape;
}

/**
 * The values of the route's sensitive params: from req.params, and from the path where the route's
 * segments line up with it (Express empties req.params when an error leaves the route).
 */
export function sensitiveRouteValues(sanitizer: Sanitizer, route: string | null, path: string, params: Record<string, unknown> | undefined): readonly string[] {
  if (route === null) return NO_VALUES;
  const shape = shapeOf(sanitizer, route);
  if (shape.names.length === 0) return NO_VALUES;
  const values: string[] = [];
  for (const name of shape.names) {
    const value = params?.[name];
    if (typeof value === 'string' && value !== '') values.push(value);
  }
  if (shape.segments !== null && shape.segments.length > 0) {
    const pathParts = path.split('/').filter((s) => s !== '');
    for (const index of shape.segments) {
      const raw = pathParts[index];
      if (raw !== undefined && raw !== '') values.push(raw, safeDecode(raw));
    }
  }
  return values;
}

/** Whether an entity id read from the route is one of `values` (or its start, the id being cut at MAX_ENTITY_LENGTH). */
export function isRouteSecret(values: readonly string[], id: string | null): boolean {
  if (id === null || values.length === 0) return false;
  return values.some((value) => value === id || (id.length >= MAX_ENTITY_LENGTH && value.startsWith(id)));
}

/** The path with every segment that holds one of `values` (as written or decoded) replaced. */
export function withoutValues(path: string, values: readonly string[], redacted: string): string {
  if (values.length === 0) return path;
  return path.split('/').map((segment) => (segment !== '' && (values.includes(segment) || values.includes(safeDecode(segment))) ? redacted : segment)).join('/');
}
