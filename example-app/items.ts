/**
 * Items: a JSON CRUD resource kept in memory. Reads are open; writes need a signed-in user. The
 * dashboard's form creates one too, and the browser is sent back to the dashboard.
 */
import express, { type Request, type Response } from 'express';
import { currentUser, requireUser } from './accounts';
import { backToDashboard, refuse, requireUserOrLogin, wantsPage } from './forms';
import { DEMO_USERNAME } from './tenants';

export interface Item {
  id: string;
  name: string;
  createdBy: string;
}

/** `name` must be a non-empty string (after trimming); returns the trimmed name or an error message. */
function readName(body: unknown, required: boolean): { name?: string; error?: string } {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['name'] : undefined;
  if (value === undefined && !required) return {};
  if (typeof value !== 'string' || value.trim() === '') return { error: 'name must be a non-empty string' };
  if (value.length > 200) return { error: 'name must be at most 200 characters' };
  return { name: value.trim() };
}

export function itemRoutes(): { router: express.Router; createdBy: (userId: string) => Item[] } {
  const items = new Map<string, Item>([['1', { id: '1', name: 'Welcome item', createdBy: DEMO_USERNAME }]]);
  let nextId = 2;
  const router = express.Router();

  router.get('/api/items', (_req, res) => {
    res.json([...items.values()]);
  });

  router.get('/api/items/:id', (req, res) => {
    const item = items.get(req.params.id);
    if (!item) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    res.json(item);
  });

  router.post('/api/items', requireUserOrLogin, (req, res) => {
    const { name, error } = readName(req.body, true);
    if (name === undefined) {
      refuse(req, res, 400, error ?? 'name is required');
      return;
    }
    const item: Item = { id: String(nextId++), name, createdBy: currentUser(req)!.id };
    items.set(item.id, item);
    // The route has no :id, so the tracker cannot know the new id: name it (type and id together).
    if (req.activity) {
      req.activity.entityType = 'items';
      req.activity.entityId = item.id;
    }
    if (wantsPage(req)) {
      backToDashboard(res);
      return;
    }
    res.status(201).location(`/api/items/${item.id}`).json(item);
  });

  const update = (required: boolean) => (req: Request<{ id: string }>, res: Response): void => {
    const item = items.get(req.params.id);
    if (!item) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    const { name, error } = readName(req.body, required);
    if (error !== undefined) {
      res.status(400).json({ error });
      return;
    }
    if (name !== undefined) item.name = name;
    res.json(item);
  };
  router.put('/api/items/:id', requireUser, update(true));
  router.patch('/api/items/:id', requireUser, update(false));

  router.delete('/api/items/:id', requireUser, (req: Request<{ id: string }>, res: Response) => {
    if (!items.delete(req.params.id)) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    res.status(204).end();
  });

  const createdBy = (userId: string): Item[] => [...items.values()].filter((item) => item.createdBy === userId);
  return { router, createdBy };
}
