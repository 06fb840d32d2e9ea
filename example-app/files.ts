/**
 * Files: an upload whose bytes are counted, never parsed or kept, and a download that describes it.
 * The dashboard's form uploads too, and the browser is sent back to the dashboard.
 */
import express from 'express';
import { currentUser } from './accounts';
import { backToDashboard, refuse, requireUserOrLogin, wantsPage } from './forms';

/** Uploads larger than this are refused with 413. */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

export interface StoredFile {
  id: string;
  /** Bytes of the multipart request body; the demo keeps only the count. */
  size: number;
  uploadedBy: string;
  uploadedAt: Date;
}

export function fileRoutes(): { router: express.Router; uploadedBy: (userId: string) => StoredFile[] } {
  const files = new Map<string, StoredFile>();
  let nextId = 1;
  const router = express.Router();

  router.post('/api/files', requireUserOrLogin, (req, res) => {
    if (!/^multipart\/form-data\s*;/i.test(req.headers['content-type'] ?? '')) {
      refuse(req, res, 415, 'Send the file as multipart/form-data');
      return;
    }
    const tooLarge = (): void => {
      // Closing the connection stops a client that would otherwise keep sending.
      refuse(req, res.set('Connection', 'close'), 413, `Files are limited to ${MAX_UPLOAD_BYTES} bytes`);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
      tooLarge();
      return;
    }
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) {
        refused = true;
        tooLarge();
      }
    });
    req.on('end', () => {
      if (refused) return;
      const file: StoredFile = { id: String(nextId++), size, uploadedBy: currentUser(req)!.id, uploadedAt: new Date() };
      files.set(file.id, file);
      if (req.activity) {
        req.activity.entityType = 'files';
        req.activity.entityId = file.id;
      }
      if (wantsPage(req)) {
        backToDashboard(res);
        return;
      }
      res.status(201).location(`/api/files/${file.id}/download`).json({ id: file.id, size });
    });
    // A client that goes away mid-upload needs no answer; the tracker records it as aborted.
  });

  router.get('/api/files/:id/download', (req, res) => {
    const file = files.get(req.params.id);
    if (!file) {
      res.status(404).json({ error: 'File not found' });
      return;
    }
    res.attachment(`file-${file.id}.txt`).send(
      `File ${file.id}: ${file.size} bytes uploaded by ${file.uploadedBy} at ${file.uploadedAt.toISOString()}.\n`
      + 'The example keeps only the byte count, not the content.\n',
    );
  });

  const uploadedBy = (userId: string): StoredFile[] => [...files.values()].filter((file) => file.uploadedBy === userId);
  return { router, uploadedBy };
}
