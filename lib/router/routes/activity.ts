import type { ReportHandler } from '../context';
import { ApiError } from '../apiError';
import { allowOnly, uuidPathParam } from '../params';


/**
 * `GET /activities/:id`: one row of the caller's scope as `/activities` lists it, with its place in
 * the hash chain (`chain`: position, prevHash, rowHash, hashVersion), for the console's detail panel.
 * 404 when the scope holds no row with that id, whether or not another tenant's does.
 */
export function activityRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    allowOnly(req.query as Record<string, unknown>, []);
    const id = uuidPathParam(req.params['id'], 'id', 'the id of an activity, a UUID as GET /activities lists it');
    const row = await reader.activity(id);
    if (row === null) throw new ApiError(404, 'ERR_AT_NOT_FOUND', `No activity ${id} here; GET /activities lists the activities you may see`, 'id');
    describe({ entityType: 'user_activity', entityId: row.id as string, rows: 1 });
    res.json({ data: row });
  };
}
