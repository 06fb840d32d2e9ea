import type { Knex } from 'knex';
import type { Request, Response } from 'express';
import type { ResolvedConfig } from '../config';
import type { ActivityType, RecordInput, ReportPrincipal } from '../types';
import type { RecorderStats } from '../recorder/recorder';
import type { TenantScope } from '../store/reports/tenantScope';

/** What every report route gets: where to read, the settings, and how to put its own read on the trail. */
export interface ReportContext {
  knex: Knex;
  config: ResolvedConfig;
  /** Resolves once the database is reachable and current. */
  ready(): Promise<void>;
  /** Records an event that is not a request (used when no capture middleware saw the request). */
  record(input: RecordInput): void;
  /** The write path's counters, for `GET /health`. */
  writePathStats(): RecorderStats;
}

/**
 * A report route: validates `req.query`, calls `describe` with what it is about to return (before
 * the response is sent, so the request's own trail row carries it), then answers on `res`.
 * `scope` is whose rows the caller may read (lib/store/reports/tenantScope.ts); every report query
 * takes it. The `/me/*` routes read by the caller's user id and get every tenant.
 */
export type ReportHandler = (req: Request, res: Response, principal: ReportPrincipal, describe: (read: ReadDescription) => void, scope: TenantScope) => Promise<void>;

/** What a read was, for the `audit_read` / `audit_export` row. */
export interface ReadDescription {
  type?: Extract<ActivityType, 'audit_read' | 'audit_export'>;
  /** The validated filters, as given. */
  filters?: Record<string, unknown>;
  /** Rows returned (unknown for streamed exports). */
  rows?: number;
  entityType?: string;
  entityId?: string;
}
