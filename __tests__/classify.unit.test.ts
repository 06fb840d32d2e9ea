/** The activity-type rules of lib/capture/classify.ts, called directly: no app, no database. */
import { actionFor, classifyActivity, type ClassifyInput } from '../lib/capture/classify';
import { SECURITY_EVENTS } from '../lib/securityEvents';
import type { ActivityType } from '../lib/types';

const config = {
  routeActivityTypes: new Map<string, ActivityType>(),
  loginPaths: new Set(['/login', '/api/auth/login']),
  logoutPaths: new Set(['/logout']),
  tokenRefreshPaths: new Set(['/api/auth/refresh']),
};

function input(method: string, path: string, statusCode: number, more: Partial<ClassifyInput> = {}): ClassifyInput {
  return {
    method, path, statusCode, route: null,
    requestContentType: undefined, accept: undefined, responseContentType: undefined, contentDisposition: undefined,
    ...more,
  };
}

describe('classifyActivity: authentication paths', () => {
  it.each<[string, string, number, ActivityType]>([
    ['POST', '/login', 302, 'login'],
    ['POST', '/api/auth/login', 200, 'login'],
    ['POST', '/login', 401, 'login_failed'],
    ['POST', '/api/auth/login', 400, 'login_failed'],
    ['POST', '/login', 503, 'error'],
    // Only a POST signs in: GET /login shows the form.
    ['GET', '/login', 200, 'data_view'],
    ['POST', '/logout', 302, 'logout'],
    ['GET', '/logout', 302, 'logout'],
    ['DELETE', '/logout', 401, 'logout'],
    ['GET', '/logout', 500, 'error'],
    ['POST', '/api/auth/refresh', 200, 'token_refresh'],
    ['GET', '/api/auth/refresh', 401, 'token_refresh'],
    ['PUT', '/api/auth/refresh', 200, 'data_update'],
    ['POST', '/api/auth/refresh', 502, 'error'],
  ])('%s %s answered %i is %s', (method, path, status, expected) => {
    expect(classifyActivity(input(method, path, status), config)).toBe(expected);
  });
});

describe('classifyActivity: by method, status and content', () => {
  it.each<[string, string, number, Partial<ClassifyInput>, ActivityType]>([
    ['any 5xx is an error', 'GET', 500, {}, 'error'],
    ['a 5xx beats an upload', 'POST', 500, { requestContentType: 'multipart/form-data; boundary=x' }, 'error'],
    ['a multipart POST is an upload', 'POST', 201, { requestContentType: 'multipart/form-data; boundary=x' }, 'file_upload'],
    ['a multipart PUT is an upload', 'PUT', 200, { requestContentType: 'Multipart/Form-Data; boundary=x' }, 'file_upload'],
    ['a multipart PATCH is an upload', 'PATCH', 200, { requestContentType: 'multipart/form-data; boundary=x' }, 'file_upload'],
    ['a multipart DELETE is still a delete', 'DELETE', 204, { requestContentType: 'multipart/form-data; boundary=x' }, 'data_delete'],
    ['an attachment is a download', 'GET', 200, { contentDisposition: 'Attachment; filename="a.txt"', responseContentType: 'text/plain' }, 'file_download'],
    ['an inline disposition is not', 'GET', 200, { contentDisposition: 'inline', responseContentType: 'application/json' }, 'data_view'],
    ['a zip is a download', 'GET', 200, { responseContentType: 'application/zip' }, 'file_download'],
    ['a PDF is a download', 'HEAD', 200, { responseContentType: 'application/pdf' }, 'file_download'],
    ['an office document (vnd.) is a download', 'GET', 200, { responseContentType: 'application/vnd.ms-excel' }, 'file_download'],
    ['video is a download', 'GET', 206, { responseContentType: 'video/mp4' }, 'file_download'],
    ['octet-stream is a download', 'GET', 200, { responseContentType: 'application/octet-stream' }, 'file_download'],
    ['HTML is a page view', 'GET', 200, { responseContentType: 'text/html; charset=utf-8' }, 'page_view'],
    ['a redirect to a browser is a page view', 'GET', 302, { accept: 'text/html,application/xhtml+xml' }, 'page_view'],
    ['a 304 to a browser is a page view', 'GET', 304, { accept: 'Text/HTML' }, 'page_view'],
    ['a redirect to an API client is a data view', 'GET', 302, { accept: 'application/json' }, 'data_view'],
    ['a 404 for a browser is a data view (no HTML answered)', 'GET', 404, { accept: 'text/html' }, 'data_view'],
    ['JSON is a data view', 'GET', 200, { responseContentType: 'application/json' }, 'data_view'],
    ['a POST creates', 'POST', 201, { requestContentType: 'application/json' }, 'data_create'],
    ['a failed POST still creates (what was attempted)', 'POST', 400, {}, 'data_create'],
    ['PUT updates', 'PUT', 200, {}, 'data_update'],
    ['PATCH updates', 'PATCH', 200, {}, 'data_update'],
    ['DELETE deletes', 'DELETE', 204, {}, 'data_delete'],
    ['OPTIONS is a system action', 'OPTIONS', 204, {}, 'system_action'],
  ])('%s', (_name, method, status, more, expected) => {
    expect(classifyActivity(input(method, '/api/things', status, more), config)).toBe(expected);
  });
});

describe('classifyActivity: routeActivityTypes overrides', () => {
  const overrides = {
    ...config,
    routeActivityTypes: new Map<string, ActivityType>([
      ['POST /api/approvals/:id/approve', 'data_update'],
      ['/api/reports/:id', 'file_download'],
      ['GET /health', 'system_action'],
      ['/login', 'page_view'],
    ]),
  };

  it('a method and route pattern wins over the default rules', () => {
    expect(classifyActivity(input('POST', '/api/approvals/7/approve', 200, { route: '/api/approvals/:id/approve' }), overrides)).toBe('data_update');
  });

  it('a route pattern without a method applies to every method', () => {
    expect(classifyActivity(input('GET', '/api/reports/3', 200, { route: '/api/reports/:id', responseContentType: 'application/json' }), overrides)).toBe('file_download');
    expect(classifyActivity(input('DELETE', '/api/reports/3', 204, { route: '/api/reports/:id' }), overrides)).toBe('file_download');
  });

  it('a literal path matches when no route did', () => {
    expect(classifyActivity(input('GET', '/health', 200), overrides)).toBe('system_action');
    expect(classifyActivity(input('HEAD', '/health', 200), overrides)).toBe('data_view');
  });

  it('an override wins over the login rule and over a 5xx', () => {
    expect(classifyActivity(input('POST', '/login', 401), overrides)).toBe('page_view');
    expect(classifyActivity(input('POST', '/login', 500), overrides)).toBe('page_view');
  });

  it('a route that matches no key falls through to the default rules', () => {
    expect(classifyActivity(input('POST', '/api/approvals/7/reject', 200, { route: '/api/approvals/:id/reject' }), overrides)).toBe('data_create');
  });
});

describe('actionFor', () => {
  it.each<[ActivityType, string, number | undefined, string]>([
    ['login', 'POST', 200, SECURITY_EVENTS.AUTHN_LOGIN_SUCCESS],
    ['login_failed', 'POST', 401, SECURITY_EVENTS.AUTHN_LOGIN_FAIL],
    ['logout', 'GET', 302, 'logout'],
    ['token_refresh', 'POST', 200, 'refresh'],
    ['file_upload', 'POST', 201, 'upload'],
    ['file_download', 'GET', 200, 'download'],
    ['data_view', 'GET', 200, 'read'],
    ['page_view', 'HEAD', 200, 'read'],
    ['data_create', 'POST', 201, 'create'],
    ['data_update', 'PUT', 200, 'update'],
    ['data_update', 'PATCH', 200, 'update'],
    ['data_delete', 'DELETE', 204, 'delete'],
    ['system_action', 'OPTIONS', 204, 'options'],
    ['error', 'GET', 500, 'read'],
    ['data_create', 'POST', undefined, 'create'],
    // A 429 is the rate-limit security event, whatever the request tried.
    ['login_failed', 'POST', 429, SECURITY_EVENTS.EXCESS_RATE_LIMIT_EXCEEDED],
    ['data_view', 'GET', 429, SECURITY_EVENTS.EXCESS_RATE_LIMIT_EXCEEDED],
  ])('%s %s (%s) → %s', (type, method, status, expected) => {
    expect(actionFor(type, method, status)).toBe(expected);
  });

  it('uses the OWASP names for the login outcomes', () => {
    expect(SECURITY_EVENTS.AUTHN_LOGIN_SUCCESS).toBe('authn_login_success');
    expect(SECURITY_EVENTS.AUTHN_LOGIN_FAIL).toBe('authn_login_fail');
  });
});
