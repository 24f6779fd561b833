// The upload limit (MAX_UPLOAD_MB): a larger file is a 413 however it is sent — a raw body
// that declares its length, a chunked one that does not, or a multipart part — and leaves
// nothing behind: no import, no spooled file, no debt. A file under the limit still imports.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv } from '../helpers/imports.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

const LIMIT_MB = 0.0625; // 64 KiB
const LIMIT = 64 * 1024;

function csv(rows: number): string {
  let text = 'external_id;cpf;nome;valor;vencimento;descricao\r\n';
  for (let i = 0; i < rows; i++) text += `L-${String(i).padStart(6, '0')};52998224725;Ana Maria;10,00;01/01/2026;${'x'.repeat(40)}\r\n`;
  return text;
}

describe('upload limit', () => {
  let t: TestApp;
  let a: SeededCreditor;
  let base: string;

  beforeAll(async () => {
    t = await buildTestApp({ env: { MAX_UPLOAD_MB: String(LIMIT_MB) } });
    a = await seedCreditor(t);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  const big = csv(1200);
  const uploads = () => readdirSync(path.join(t.config.dataDir, 'uploads'));
  const nothingLeft = async () => {
    expect((await t.request.get('/api/v1/imports').set(a.auth)).body.data).toEqual([]);
    expect((await t.request.get('/api/v1/debts').set(a.auth)).body.data).toEqual([]);
    expect(uploads()).toEqual([]);
  };

  it('the limit is the configured one', () => {
    expect(t.config.maxUploadBytes).toBe(LIMIT);
    expect(Buffer.byteLength(big)).toBeGreaterThan(LIMIT);
  });

  it('a raw text/csv body over the limit, with its length declared: 413, nothing stored', async () => {
    const res = await t.request.post('/api/v1/imports').set(a.auth).set('content-type', 'text/csv').send(big);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(413);
    await nothingLeft();
  });

  it('a chunked body with no length, over the limit: 413 once the limit is passed, nothing stored', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/imports`, { method: 'POST', headers: { ...a.auth, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      const bytes = Buffer.from(big);
      for (let at = 0; at < bytes.length; at += 8192) req.write(bytes.subarray(at, at + 8192));
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ status: 413, detail: expect.stringMatching(/larger than 0\.06 MiB, the largest this server accepts/) });
    await nothingLeft();
  });

  it('a multipart file over the limit: 413, nothing stored', async () => {
    const res = await t.request.post('/api/v1/imports').set(a.auth).attach('file', Buffer.from(big), { filename: 'carteira.csv', contentType: 'text/csv' });
    expect(res.status).toBe(413);
    expect(res.body.status).toBe(413);
    await nothingLeft();
  });

  it('a file under the limit imports, sent either way', async () => {
    const small = csv(100);
    expect(Buffer.byteLength(small)).toBeLessThan(LIMIT);
    expect(await importCsv(t, a.auth, small)).toMatchObject({ status: 'completed', rows_imported: 100 });
    expect(await importCsv(t, a.auth, small, { multipart: true })).toMatchObject({ status: 'completed', rows_total: 100, rows_rejected: 0 });
    const listed = await t.request.get('/api/v1/debts?limit=200').set(a.auth);
    expect(listed.body.data).toHaveLength(100);
    expect(uploads()).toEqual([]);
  });

  it('MAX_UPLOAD_MB must be a positive number', async () => {
    await expect(buildTestApp({ env: { MAX_UPLOAD_MB: '0' } })).rejects.toThrow(/MAX_UPLOAD_MB/);
    await expect(buildTestApp({ env: { MAX_UPLOAD_MB: '0.0000001' } })).rejects.toThrow(/MAX_UPLOAD_MB/);
    await expect(buildTestApp({ env: { MAX_UPLOAD_MB: 'lots' } })).rejects.toThrow(/MAX_UPLOAD_MB/);
  });
});
