import type { ReportContext, ReportHandler } from '../context';
import { ApiError } from '../apiError';

export function activeSessionsRoute(_ctx: ReportContext): ReportHandler {
  return () => Promise.reject(new ApiError(501, 'ERR_AT_INTERNAL', 'not built yet'));
}
export function mySessionsRoute(_ctx: ReportContext): ReportHandler {
  return () => Promise.reject(new ApiError(501, 'ERR_AT_INTERNAL', 'not built yet'));
}
export function mySummaryRoute(_ctx: ReportContext): ReportHandler {
  return () => Promise.reject(new ApiError(501, 'ERR_AT_INTERNAL', 'not built yet'));
}
