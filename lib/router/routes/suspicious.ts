import type { ReportContext, ReportHandler } from '../context';
import { ApiError } from '../apiError';

export function suspiciousRoute(_ctx: ReportContext): ReportHandler {
  return () => Promise.reject(new ApiError(501, 'ERR_AT_INTERNAL', 'not built yet'));
}
