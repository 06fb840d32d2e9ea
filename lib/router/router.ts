import express, { type Router } from 'express';

/**
 * The report routes (query, statistics, sessions, suspicious activity, audit trails, export,
 * compliance) arrive with version 0.2; until then every path answers 501 with a JSON error, so an
 * app can mount the router today without changing its code later.
 */
export function createReportRouter(): Router {
  const router = express.Router();
  router.use((_req, res) => {
    res.status(501).json({
      error: {
        code: 'ERR_AT_ROUTES_UNAVAILABLE',
        message: 'The activity report routes ship in express-activity-tracking 0.2. This version records activity; read it from the user_activity table meanwhile.',
      },
    });
  });
  return router;
}
