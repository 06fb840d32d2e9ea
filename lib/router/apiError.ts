import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../types';
import { messageOf } from '../util/messageOf';

export type ApiErrorCode = 'ERR_AT_INVALID_PARAM' | 'ERR_AT_UNKNOWN_PARAM' | 'ERR_AT_UNAUTHENTICATED' | 'ERR_AT_FORBIDDEN'
  | 'ERR_AT_RATE_LIMITED' | 'ERR_AT_NOT_FOUND' | 'ERR_AT_INTERNAL' | 'ERR_AT_CROSS_ORIGIN' | 'ERR_AT_TOO_MANY_STREAMS'
  | 'ERR_AT_CONFLICT' | 'ERR_AT_CONSOLE_NOT_BUILT';

/** An answer the report routes give on purpose: status, stable code, a message that says what is allowed, and the parameter at fault. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: ApiErrorCode, message: string, readonly param?: string) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): { error: { code: ApiErrorCode; message: string; param?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.param !== undefined ? { param: this.param } : {}) } };
  }
}

export function invalidParam(param: string, message: string): ApiError {
  return new ApiError(400, 'ERR_AT_INVALID_PARAM', message, param);
}

export function routeNotFound(req: Request): ApiError {
  return new ApiError(404, 'ERR_AT_NOT_FOUND', `No report route ${req.method} ${req.path.slice(0, 100)}; see openapi.json under this mount point`);
}

/** The router's last handler: ApiErrors as they are, anything else as a 500 that reveals nothing. */
export function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof ApiError) {
      res.status(error.status).json(error.toJSON());
      return;
    }
    logger.error('Activity report route failed', { error: messageOf(error) });
    res.status(500).json(new ApiError(500, 'ERR_AT_INTERNAL', 'The report could not be produced; the server log has the cause').toJSON());
  };
}
