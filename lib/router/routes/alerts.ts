import express, { type NextFunction, type Request, type Response } from 'express';
import type { ReportContext, ReportHandler } from '../context';
import { ApiError, invalidParam } from '../apiError';
import { allowOnly, dateRange, describeFilters, identifier, limitOffset, oneOf, uuidPathParam } from '../params';
import { ALERT_RULES, SEVERITIES, type RecordInput } from '../../types';
import { acknowledgeAlert, ALERT_STATUSES, type AlertFilters } from '../../store/alerts/alertRows';
import { messageOf } from '../../util/messageOf';

export const ALERTS_PARAMS = ['rule', 'severity', 'status', 'key', 'startDate', 'endDate', 'limit', 'offset'] as const;
export const MAX_NOTE_LENGTH = 1000;

/**
 * `GET /alerts`: the alerts of the caller's tenant scope (a tenant's admin or reader sees the
 * alerts whose counted rows all belong to that tenant), newest window first, each with its status
 * (`open`, or `acknowledged` once it has an acknowledgement) and its acknowledgements.
 * `startDate` / `endDate` bound the start of the alert's window.
 */
export function alertsRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, ALERTS_PARAMS);
    const filters: AlertFilters = {};
    const rule = oneOf(query, 'rule', ALERT_RULES);
    if (rule) filters.rule = rule;
    const severity = oneOf(query, 'severity', SEVERITIES);
    if (severity) filters.severity = severity;
    const status = oneOf(query, 'status', ALERT_STATUSES);
    if (status) filters.status = status;
    const key = identifier(query, 'key', 300);
    if (key) filters.key = key;
    Object.assign(filters, dateRange(query));
    const page = limitOffset(query);

    const { data, total } = await reader.alerts(filters, page);
    describe({ filters: { ...describeFilters(filters), ...page }, rows: data.length });
    res.json({ data, pagination: { total, limit: page.limit, offset: page.offset } });
  };
}

/**
 * `POST /alerts/:id/acknowledge` (admins): adds an acknowledgement by the caller, with an optional
 * `note`; acknowledging again adds another. 404 when no alert with that id is in the caller's scope.
 * Answers 201 with the alert as `GET /alerts` lists it; the acknowledgement is also put on the trail
 * as an `alert.acknowledged` event.
 */
export function acknowledgeAlertRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { principal, describe, reader }) => {
    allowOnly(req.query as Record<string, unknown>, []);
    const id = uuidPathParam(req.params['id'], 'id', 'the id of an alert, a UUID as GET /alerts lists it');
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParam('body', 'Send a JSON object such as { "note": "checked with the account owner" }, or no body');
    allowOnly(body as Record<string, unknown>, ['note']);
    const note = (body as { note?: unknown }).note ?? null;
    if (note !== null && (typeof note !== 'string' || note.length > MAX_NOTE_LENGTH)) {
      throw invalidParam('note', `"note" must be a string of at most ${MAX_NOTE_LENGTH} characters`);
    }

    const alert = await reader.alert(id);
    if (alert === null) throw new ApiError(404, 'ERR_AT_NOT_FOUND', `No alert ${id} here; GET /alerts lists the alerts you may see`, 'id');
    // A write, so on the shared pool: the reader's reads may run in a read-only transaction.
    const acknowledgement = await acknowledgeAlert(ctx.db, id, principal.userId, note);
    describe({ entityType: 'activity_alert', entityId: id });
    const event: RecordInput = {
      action: 'alert.acknowledged', activityType: 'system_action', category: 'alerts', userId: principal.userId,
      actorRole: principal.role, entityType: 'activity_alert', entityId: id, entityName: alert.summary.slice(0, 200),
      tenantId: alert.tenantId, details: { rule: alert.rule, key: alert.key, windowStart: alert.windowStart, acknowledgementId: acknowledgement.id, ...(note !== null ? { note } : {}) },
    };
    // Linked to this request (its IP, session and device) when the capture middleware saw it.
    if (req.activity && typeof req.activity.record === 'function') {
      req.activity.record(event).catch((error: unknown) => ctx.config.logger.error('An alert acknowledgement could not be put on the trail', { alertId: id, error: messageOf(error) }));
    } else {
      ctx.record(event);
    }
    res.status(201).json({ data: { ...alert, status: 'acknowledged', acknowledgements: [...alert.acknowledgements, acknowledgement] } });
  };
}

/** Parses a state-changing route's JSON body (unless the app did already); a malformed or oversized one is a 400 naming `body`. */
export function jsonBody(example: string): (req: Request, res: Response, next: NextFunction) => void {
  const parse = express.json({ limit: '8kb' });
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => {
      if (error) next(invalidParam('body', `The body must be JSON of at most 8 KB, such as ${example}`));
      else next();
    });
  };
}
