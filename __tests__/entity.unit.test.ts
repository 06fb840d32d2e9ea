/** How lib/capture/entity.ts names the entity from the matched route, called directly: no app, no database. */
import { entityFromRoute } from '../lib/capture/entity';
import type { ActivityType } from '../lib/types';

describe('entityFromRoute: type and id from the route pattern', () => {
  it.each<[string, string, string, Record<string, unknown> | undefined, string | null, string | null]>([
    ['the literal before the parameter is the type, the parameter the id', '/api/items/:id', '/api/items/7', { id: '7' }, 'items', '7'],
    ['a route without a parameter names only the type', '/api/items', '/api/items', {}, 'items', null],
    ['nested resources: the last parameter decides', '/users/:userId/posts/:postId', '/users/u1/posts/p9', { userId: 'u1', postId: 'p9' }, 'posts', 'p9'],
    ['a literal after the last parameter is ignored', '/api/items/:id/history', '/api/items/4/history', { id: '4' }, 'items', '4'],
    ['a version segment is a namespace, not a type', '/v2/orders/:orderId', '/v2/orders/o-1', { orderId: 'o-1' }, 'orders', 'o-1'],
    ['a parameter right after a namespace names nothing', '/api/:id', '/api/3', { id: '3' }, null, null],
    ['a parameter right after a version names nothing', '/v1/:id', '/v1/3', { id: '3' }, null, null],
    ['a version alone names nothing', '/api/V2', '/api/v2', {}, null, null],
    ['a namespace alone names nothing', '/api', '/api', {}, null, null],
    ['each namespace word is skipped', '/rest/public/internal/admin', '/rest/public/internal/admin', {}, null, null],
    ['a literal in between namespaces is the type', '/admin/reports', '/admin/reports', {}, 'reports', null],
    ['a numeric parameter becomes a string id', '/api/items/:id', '/api/items/12', { id: 12 }, 'items', '12'],
    ['a wildcard whose value is an array gives no id', '/files/*rest', '/files/a/b', { rest: ['a', 'b'] }, 'files', null],
    ['dots and dashes are allowed in the type', '/api/line-items.v1/:id', '/api/line-items.v1/x', { id: 'x' }, 'line-items.v1', 'x'],
  ])('%s', (_name, route, path, params, entityType, entityId) => {
    expect(entityFromRoute(route, path, params, 'data_view')).toEqual({ entityType, entityId });
  });

  it('a parameter in its own braces segment is read as a parameter', () => {
    expect(entityFromRoute('/api/items/{:id}', '/api/items/5', { id: '5' }, 'data_update')).toEqual({ entityType: 'items', entityId: '5' });
  });

  it('cuts the type and the id at 255 characters', () => {
    const long = 'x'.repeat(300);
    expect(entityFromRoute('/api/items/:id', `/api/items/${long}`, { id: long }, 'data_view')).toEqual({ entityType: 'items', entityId: 'x'.repeat(255) });
    expect(entityFromRoute(`/${long}`, `/${long}`, {}, 'data_view')).toEqual({ entityType: 'x'.repeat(255), entityId: null });
  });
});

describe('entityFromRoute: which requests name an entity', () => {
  it('no matched route, no entity', () => {
    expect(entityFromRoute(null, '/api/items/7', undefined, 'data_view')).toEqual({ entityType: null, entityId: null });
  });

  it.each<ActivityType>(['data_create', 'data_update', 'data_delete', 'data_view', 'file_upload', 'file_download'])('%s names the entity', (type) => {
    expect(entityFromRoute('/api/items/:id', '/api/items/7', { id: '7' }, type)).toEqual({ entityType: 'items', entityId: '7' });
  });

  it.each<ActivityType>(['login', 'login_failed', 'logout', 'token_refresh', 'page_view', 'system_action'])('%s names none', (type) => {
    expect(entityFromRoute('/api/items/:id', '/api/items/7', { id: '7' }, type)).toEqual({ entityType: null, entityId: null });
  });

  it('an error names an entity only when it names which one', () => {
    expect(entityFromRoute('/api/fail', '/api/fail', {}, 'error')).toEqual({ entityType: null, entityId: null });
    expect(entityFromRoute('/api/items/:id', '/api/items/7', { id: '7' }, 'error')).toEqual({ entityType: 'items', entityId: '7' });
  });
});

describe('entityFromRoute: the id from the path when Express emptied req.params', () => {
  it.each<[string, string, string, string | null]>([
    ['segments line up: the id is read from the path', '/api/items/:id', '/api/items/42', '42'],
    ['the path segment is URL-decoded', '/api/items/:id', '/api/items/a%20b', 'a b'],
    ['a malformed escape is kept as sent', '/api/items/:id', '/api/items/%E0%A4%A', '%E0%A4%A'],
    ['a path of another length gives no id', '/api/items/:id', '/api/items/42/extra', null],
    ['a pattern with optional parts gives no id', '/api/items/:id?', '/api/items/42', null],
  ])('%s', (_name, route, path, entityId) => {
    expect(entityFromRoute(route, path, undefined, 'error')).toEqual(entityId === null ? { entityType: null, entityId: null } : { entityType: 'items', entityId });
  });

  it('a request that did not fail still gets the id from the path', () => {
    expect(entityFromRoute('/api/items/:id', '/api/items/9', undefined, 'data_delete')).toEqual({ entityType: 'items', entityId: '9' });
  });
});
