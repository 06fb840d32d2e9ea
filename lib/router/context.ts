import type { Request, Response } from 'express';
import type { ResolvedConfig } from '../config';
import type { ActivityType, RecordInput, ReportPrincipal } from '../types';
import type { RecorderStats } from '../recorder/recorder';
import type { Database } from '../store/database';
import type { ReportReader } from '../store/reports/reader';
import type { TenantScope } from '../store/reports/tenantScope';

/** What every report route gets: where to read, the settings, and how to put its own read on the trail. */
export interface ReportContext {
  db: Database;
  config: ResolvedConfig;
  /** Resolves once the database is reachable and current. */
  ready(): Promise<void>;
  /** Records an event that is not a request (used when no capture middleware saw the request). */
  record(input: RecordInput): void;
  /** The write path's counters, for `GET /health`. */
  writePathStats(): RecorderStats;
  /** Aborted when the tracker starts to close: open live streams end, so the app's server can close. */
  closing: AbortSignal;
}

/** One report request as its route sees it, once the caller is known and allowed. */
export interface ReportCall {
  principal: ReportPrincipal;
  /**
   * Whose rows the caller may read (lib/store/reports/tenantScope.ts); `reader` is held to it.
   * The `/me/*` routes read by the caller's user id and get every tenant.
   */
  scope: TenantScope;
  /** Call with what the route is about to return, before the response is sent, so the request's own trail row carries it. */
  describe(read: ReadDescription): void;
  /** This request's reads, every one within `scope`. */
  reader: ReportReader;
}

/** A report route: validates `req.query`, reads through `call.reader`, calls `call.describe`, then answers on `res`. */
export type ReportHandler = (req: Request, res: Response, call: ReportCall) => Promise<void>;

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
