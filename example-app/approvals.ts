/**
 * An approval workflow: a request is submitted, then approved or rejected (with a reason) from
 * the panel, or from a single-use link "emailed" to an approver. Every step is a domain event on
 * the trail, with before and after; a link that is unknown, expired or used again is recorded as a
 * security event (OWASP vocabulary) and refused.
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { SECURITY_EVENTS, type RecordInput } from '../lib/index';
import type { ExampleUser } from './tenants';

/** How long an emailed decision link stays valid. */
export const LINK_TTL_MS = 15 * 60 * 1000;

export interface Approval {
  id: string;
  title: string;
  tenantId: string;
  state: 'submitted' | 'approved' | 'rejected';
  submittedBy: string;
  decidedBy: string | null;
  reason: string | null;
}

/** A link as the demo "emails" it: kept in an outbox the app shows instead of sending mail. */
export interface SentLink {
  to: string;
  approvalId: string;
  tenantId: string;
  url: string;
}

interface DecisionLink {
  approvalId: string;
  approver: string;
  expiresAt: number;
  usedAt: number | null;
}

export interface ApprovalDeps {
  now: () => number;
  requireUser: (req: Request, res: Response, next: NextFunction) => void;
}

const CATEGORY = 'approval';

export function approvalRoutes(deps: ApprovalDeps): { router: express.Router; outbox: SentLink[] } {
  const approvals = new Map<string, Approval>();
  const links = new Map<string, DecisionLink>();
  const outbox: SentLink[] = [];
  let nextId = 1;
  const router = express.Router();
  const user = (req: Request): ExampleUser => (req as Request & { user: ExampleUser }).user;
  const entity = (a: Approval) => ({ entityType: 'approval', entityId: a.id, entityName: a.title });
  const snapshot = (a: Approval) => ({ state: a.state, decidedBy: a.decidedBy, reason: a.reason });

  /** The approval when it belongs to the caller's organisation; other organisations' do not exist for them. */
  const ownApproval = (req: Request, res: Response): Approval | undefined => {
    const approval = approvals.get(String(req.params['id']));
    if (!approval || approval.tenantId !== user(req).tenantId) {
      res.status(404).json({ error: 'No such approval request' });
      return undefined;
    }
    return approval;
  };

  /** Decides a submitted request and records it; the caller has checked it is still open. */
  const decide = async (record: (event: RecordInput) => Promise<void>, approval: Approval, decision: 'approved' | 'rejected', by: string, reason: string | null, via: string): Promise<void> => {
    const before = snapshot(approval);
    approval.state = decision;
    approval.decidedBy = by;
    approval.reason = reason;
    await record({
      action: `approval.${decision}`, category: CATEGORY, userId: by, actorType: 'user', actorRole: 'approver',
      ...entity(approval), tenantId: approval.tenantId, ownerId: approval.tenantId,
      before, after: snapshot(approval), reason, details: { via },
    });
  };

  router.post('/api/approvals', deps.requireUser, async (req, res) => {
    const title = (req.body as { title?: unknown } | undefined)?.title;
    if (typeof title !== 'string' || title.trim() === '' || title.length > 200) {
      res.status(400).json({ error: 'title must be a non-empty string of at most 200 characters' });
      return;
    }
    const me = user(req);
    if (me.tenantId === null) {
      res.status(403).json({ error: 'Only an organisation\'s people submit requests' });
      return;
    }
    const approval: Approval = { id: String(nextId++), title: title.trim(), tenantId: me.tenantId, state: 'submitted', submittedBy: me.id, decidedBy: null, reason: null };
    approvals.set(approval.id, approval);
    await req.activity?.record({ action: 'approval.submitted', category: CATEGORY, ...entity(approval), ownerId: approval.tenantId, after: snapshot(approval) });
    res.status(201).json(approval);
  });

  router.get('/api/approvals/:id', deps.requireUser, (req, res) => {
    const approval = ownApproval(req, res);
    if (approval) res.json(approval);
  });

  for (const decision of ['approved', 'rejected'] as const) {
    router.post(`/api/approvals/:id/${decision === 'approved' ? 'approve' : 'reject'}`, deps.requireUser, async (req, res) => {
      const approval = ownApproval(req, res);
      if (!approval) return;
      const reason = (req.body as { reason?: unknown } | undefined)?.reason;
      if (decision === 'rejected' && (typeof reason !== 'string' || reason.trim() === '')) {
        res.status(400).json({ error: 'A rejection needs a reason' });
        return;
      }
      if (approval.state !== 'submitted') {
        res.status(409).json({ error: `Already ${approval.state}` });
        return;
      }
      await decide((event) => req.activity!.record(event), approval, decision, user(req).id, typeof reason === 'string' ? reason.trim() : null, 'panel');
      res.json(approval);
    });
  }

  router.post('/api/approvals/:id/links', deps.requireUser, async (req, res) => {
    const approval = ownApproval(req, res);
    if (!approval) return;
    const approver = (req.body as { approver?: unknown } | undefined)?.approver;
    if (typeof approver !== 'string' || approver === '') {
      res.status(400).json({ error: 'approver must name the user the link is for' });
      return;
    }
    const token = randomBytes(24).toString('base64url');
    links.set(token, { approvalId: approval.id, approver, expiresAt: deps.now() + LINK_TTL_MS, usedAt: null });
    const url = `/approvals/decide?token=${token}`;
    outbox.push({ to: approver, approvalId: approval.id, tenantId: approval.tenantId, url });
    await req.activity?.record({ action: 'approval.link_sent', category: CATEGORY, ...entity(approval), ownerId: approval.tenantId, details: { to: approver } });
    res.status(201).json({ sentTo: approver });
  });

  router.get('/api/outbox', deps.requireUser, (req, res) => {
    res.json(outbox.filter((mail) => mail.tenantId === user(req).tenantId));
  });

  // The emailed link: no session needed, the token is the credential, so its failures are security events.
  router.get('/approvals/decide', async (req, res) => {
    const token = typeof req.query['token'] === 'string' ? req.query['token'] : '';
    const decision = req.query['decision'] === 'reject' ? 'rejected' : 'approved';
    const reason = typeof req.query['reason'] === 'string' && req.query['reason'] !== '' ? req.query['reason'] : null;
    const link = links.get(token);
    const refuse = async (status: number, action: string, message: string, approval?: Approval): Promise<void> => {
      await req.activity?.record({
        action, category: 'authentication', status: 'failure', severity: 'high',
        ...(approval ? { ...entity(approval), tenantId: approval.tenantId, ownerId: approval.tenantId } : {}),
        details: { decision },
      });
      res.status(status).json({ error: message });
    };
    if (!link) return refuse(400, SECURITY_EVENTS.AUTHN_TOKEN_INVALID, 'This link is not valid');
    const approval = approvals.get(link.approvalId) as Approval;
    if (link.usedAt !== null) return refuse(409, SECURITY_EVENTS.AUTHN_TOKEN_REUSE, 'This link has been used already', approval);
    if (deps.now() >= link.expiresAt) return refuse(410, SECURITY_EVENTS.AUTHN_TOKEN_EXPIRED, 'This link has expired', approval);
    if (decision === 'rejected' && reason === null) {
      res.status(400).json({ error: 'A rejection needs a reason' });
      return;
    }
    if (approval.state !== 'submitted') {
      res.status(409).json({ error: `Already ${approval.state}` });
      return;
    }
    link.usedAt = deps.now();
    await decide((event) => req.activity!.record(event), approval, decision, link.approver, reason, 'email-link');
    res.json(approval);
  });

  return { router, outbox };
}
