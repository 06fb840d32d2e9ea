/**
 * An assistant endpoint: each exchange is two domain events, the user's message and the agent's
 * reply, with the agent as the reply's actor. The events carry sizes and token counts (words, in this
 * demo), not the words themselves, and the example's tracker redacts the request's `text` field
 * (EXAMPLE_TRACKER_OPTIONS), so usage per user and per agent can be counted (GET /api/activity-tracking/stats?actorType=agent) without keeping conversations.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ExampleUser } from './tenants';

export const ASSISTANT_AGENT = { userId: 'helper-bot', actorType: 'agent', actorName: 'Helper' } as const;

export function assistantRoutes(requireUser: (req: Request, res: Response, next: NextFunction) => void): express.Router {
  const router = express.Router();
  router.post('/api/assistant/messages', requireUser, async (req, res) => {
    const text = (req.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text.trim() === '' || text.length > 4000) {
      res.status(400).json({ error: 'text must be a non-empty string of at most 4000 characters' });
      return;
    }
    const tokens = (s: string): number => s.trim().split(/\s+/).length;
    const me = (req as Request & { user: ExampleUser }).user;
    const reply = `I read ${text.length} characters. (This demo assistant only counts.)`;
    await req.activity!.record({ action: 'assistant.message', category: 'conversation', userId: me.id, actorType: 'user', details: { role: 'user', characters: text.length, tokens: tokens(text) } });
    await req.activity!.record({ action: 'assistant.message', category: 'conversation', ...ASSISTANT_AGENT, details: { role: 'assistant', characters: reply.length, tokens: tokens(reply), inReplyTo: me.id } });
    res.status(201).json({ reply });
  });
  return router;
}
