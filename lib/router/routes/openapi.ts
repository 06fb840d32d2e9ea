/** The OpenAPI 3.1 document of the report routes. */
export function openApiDocument(): Record<string, unknown> {
  return { openapi: '3.1.0', info: { title: 'express-activity-tracking report routes', version: '0.2.0' }, paths: {} };
}
