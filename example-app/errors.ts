/**
 * The end of the chain: a route that always fails (to show `error` rows), the 404 answer (JSON under
 * /api/, a page elsewhere) and the error handler that says what a client did wrong and hides the rest.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { html, sendPage } from './html';

export function failingRoutes(): express.Router {
  const router = express.Router();
  router.get('/api/fail', () => {
    throw new Error('Simulated failure: this route always fails');
  });
  return router;
}

export const notFound: RequestHandler = (req, res) => {
  if (req.path.startsWith('/api/')) {
    res.status(404).json({ error: 'Not found' });
    return;
  }
  sendPage(req, res, 'Not found', html`<p>There is no page at <code>${req.path}</code>. <a href="/">Home</a>.</p>`, 404);
};

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

export function errorHandler(logError: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500) {
      // Client errors from the body parsers (malformed JSON, a body too large): say what was wrong.
      const exposed = (error as { expose?: unknown }).expose === true && error instanceof Error;
      res.status(status).json({ error: exposed ? error.message : 'Bad request' });
      return;
    }
    logError(error);
    res.status(500).json({ error: 'Internal error' });
  };
}
