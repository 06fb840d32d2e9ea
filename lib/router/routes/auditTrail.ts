import type { ReportHandler } from '../context';
import { allowOnly, dateRange, describeFilters, identifierValue, limitOffset, MAX_LIMIT } from '../params';

export const AUDIT_TRAIL_PARAMS = ['startDate', 'endDate', 'limit', 'offset'] as const;

/**
 * `GET /entities/:entityType/:entityId/audit-trail`: everything recorded about one entity, oldest
 * first, with who did it and, where known, the state before and after and the reason. Reading the
 * trail is itself put on that entity's trail.
 */
export function auditTrailRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const params = req.params as Record<string, string | undefined>;
    const entityType = identifierValue('entityType', params['entityType'] ?? '', 128);
    const entityId = identifierValue('entityId', params['entityId'] ?? '', 256);
    const query = req.query as Record<string, unknown>;
    allowOnly(query, AUDIT_TRAIL_PARAMS);
    const period = dateRange(query);
    const { limit, offset } = limitOffset(query, MAX_LIMIT);

    const { items, total } = await reader.auditTrail({ entityType, entityId, ...period, limit, offset });
    describe({ filters: { ...describeFilters(period), limit, offset }, entityType, entityId, rows: items.length });
    res.json({ data: items, entity: { entityType, entityId }, pagination: { total, limit, offset } });
  };
}
