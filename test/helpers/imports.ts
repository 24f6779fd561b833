import { expect } from 'vitest';
import type { TestApp } from './app.js';

export interface ImportResult {
  id: string;
  status: 'processing' | 'completed' | 'failed';
  dry_run: boolean;
  rows_total: number;
  rows_imported: number;
  rows_rejected: number;
  error?: string;
  errors: { line: number; column: string | null; message: string }[];
}

/** Uploads a CSV body and waits until the import finishes. */
export async function importCsv(t: TestApp, auth: Record<string, string>, body: string | Buffer, opts: { dryRun?: boolean; multipart?: boolean } = {}): Promise<ImportResult> {
  const url = `/api/v1/imports${opts.dryRun ? '?dry_run=true' : ''}`;
  const req = t.request.post(url).set(auth);
  const res = opts.multipart
    ? await req.attach('file', Buffer.isBuffer(body) ? body : Buffer.from(body), { filename: 'carteira.csv', contentType: 'text/csv' })
    : await req.set('content-type', 'text/csv').send(Buffer.isBuffer(body) ? body : Buffer.from(body));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return waitForImport(t, auth, res.body.id as string);
}

export async function waitForImport(t: TestApp, auth: Record<string, string>, id: string, timeoutMs = 30_000): Promise<ImportResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.request.get(`/api/v1/imports/${id}`).set(auth);
    expect(res.status).toBe(200);
    if (res.body.status !== 'processing') return res.body as ImportResult;
    if (Date.now() > deadline) throw new Error(`import ${id} still processing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
