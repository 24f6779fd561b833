// On PostgreSQL an import starts reading its upload while it still arrives, in a transaction
// that can only commit once the request has recorded the import. These tests send uploads
// slowly, in pieces, and check what a client can see: nothing before the upload ends; a
// replayed Idempotency-Key, an upload that breaks off, a file that is not a CSV, each leave
// what they should and nothing else; and the loads they began give their place back.
// On PGlite the same requests take the ordinary path and must behave the same.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { usingPostgres } from '../helpers/db.js';
import { importCsv, waitForImport } from '../helpers/imports.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

function csv(rows: number, prefix = 'E'): string {
  let text = 'external_id;cpf;nome;valor;vencimento;descricao\r\n';
  for (let i = 0; i < rows; i++) text += `${prefix}-${String(i).padStart(6, '0')};52998224725;Ana Maria;10,00;01/01/2026;${'x'.repeat(40)}\r\n`;
  return text;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SlowUpload {
  /** Resolves with the answer; rejects if the request broke off. */
  answer: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** Sends the rest and ends the request. */
  finish(): Promise<void>;
  /** Breaks the connection off. */
  abort(): void;
}

describe('imports read while they are uploaded', () => {
  let t: TestApp;
  let a: SeededCreditor;
  let base: string;

  beforeAll(async () => {
    t = await buildTestApp();
    a = await seedCreditor(t);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  // A test that failed half-way leaves its request open; close it, or closing the app waits for it.
  const open = new Set<http.ClientRequest>();
  afterEach(() => {
    for (const req of open) req.destroy();
    open.clear();
  });
  afterAll(() => t.close());

  const uploads = () => readdirSync(path.join(t.config.dataDir, 'uploads'));
  const imports = async () => (await t.request.get('/api/v1/imports?limit=500').set(a.auth)).body.data as Array<{ id: string; status: string }>;
  const debts = async () => (await t.request.get('/api/v1/debts?limit=500').set(a.auth)).body.data as unknown[];
  /** PostgreSQL: whether a load holds this creditor's import lock (taken first thing). */
  const importLocked = async () => {
    const result = await t.database.db.execute(sql`
      SELECT count(*)::int AS n FROM pg_locks l, (SELECT hashtextextended(${`quita:import:${a.creditorId}`}, 0) AS k) h
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid::bigint = (h.k >> 32) & 4294967295 AND l.objid::bigint = h.k & 4294967295`);
    return ((result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0) > 0;
  };
  /** A load has begun reading the upload (PostgreSQL; on PGlite there is none to wait for). */
  const loadBegun = async () => t.database.kind !== 'postgres' || (await importLocked());
  /** No load is left holding its place (PostgreSQL). */
  const loadsGone = async () => t.database.kind !== 'postgres' || !(await importLocked());

  /** Sends `first` now (in 8 KiB pieces), the rest on finish(). */
  function slowUpload(body: Buffer, first: number, headers: Record<string, string> = {}, query = ''): SlowUpload {
    let req!: http.ClientRequest;
    const answer = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      req = http.request(`${base}/api/v1/imports${query}`, { method: 'POST', headers: { ...a.auth, 'content-type': 'text/csv', 'transfer-encoding': 'chunked', ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
    });
    answer.catch(() => {});
    open.add(req);
    for (let at = 0; at < first; at += 8192) req.write(body.subarray(at, Math.min(first, at + 8192)));
    return {
      answer,
      async finish() {
        for (let at = first; at < body.length; at += 8192) {
          req.write(body.subarray(at, at + 8192));
          await pause(1);
        }
        req.end();
      },
      abort() {
        req.destroy();
      },
    };
  }

  /** Waits (up to 5 s) until `check` holds. */
  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met within 5 s');
      await pause(20);
    }
  }

  it('a valid file: nothing shows before the upload ends, then it imports whole', async () => {
    const body = Buffer.from(csv(3000));
    const up = slowUpload(body, 64 * 1024);
    await eventually(loadBegun);
    await pause(100);
    expect(await imports()).toEqual([]);
    expect(await debts()).toEqual([]);
    await up.finish();
    const res = await up.answer;
    expect(res.status, res.body).toBe(202);
    const id = JSON.parse(res.body).id as string;
    expect(await waitForImport(t, a.auth, id)).toMatchObject({ status: 'completed', rows_total: 3000, rows_imported: 3000, rows_rejected: 0 });
    expect((await t.request.get('/api/v1/debts?limit=1').set(a.auth)).body.data).toHaveLength(1);
    expect(uploads()).toEqual([]);
  });

  it('an upload slower than its load gives the load back, and imports whole once it ends', async () => {
    const body = Buffer.from(csv(3000, 'S'));
    const up = slowUpload(body, 64 * 1024);
    await eventually(loadBegun);
    // The load waits for bytes that do not come; after 2 s of that it rolls back and lets go
    // of its connection and its creditor's turn, while the upload is still open.
    await eventually(loadsGone);
    await up.finish();
    const res = await up.answer;
    expect(res.status, res.body).toBe(202);
    expect(await waitForImport(t, a.auth, JSON.parse(res.body).id as string)).toMatchObject({ status: 'completed', rows_total: 3000, rows_imported: 3000 });
    expect(uploads()).toEqual([]);
  });

  it('an upload that breaks off leaves nothing, and the loads it began give their place back', async () => {
    const before = (await imports()).length;
    const body = Buffer.from(csv(3000, 'B'));
    // More broken uploads than loads may run at once: a load that kept its place would stop the next import.
    for (let i = 0; i < 3; i++) {
      const up = slowUpload(body, 64 * 1024);
      await eventually(loadBegun);
      up.abort();
      await expect(up.answer).rejects.toThrow();
      await eventually(async () => (await loadsGone()) && uploads().length === 0);
    }
    expect(await imports()).toHaveLength(before);
    expect((await t.request.get('/api/v1/debts/B-000000').set(a.auth)).status).toBe(404);
    expect(await importCsv(t, a.auth, csv(10, 'B'))).toMatchObject({ status: 'completed', rows_imported: 10 });
    expect(uploads()).toEqual([]);
  });

  it('a replayed Idempotency-Key, sent slowly: the first import answers again and nothing is loaded twice', async () => {
    const body = Buffer.from(csv(3000, 'R'));
    const first = slowUpload(body, 0, { 'idempotency-key': 'early-1' });
    await first.finish();
    const one = await first.answer;
    expect(one.status).toBe(202);
    const id = JSON.parse(one.body).id as string;
    expect(await waitForImport(t, a.auth, id)).toMatchObject({ status: 'completed', rows_imported: 3000 });
    const count = (await imports()).length;

    const again = slowUpload(body, 64 * 1024, { 'idempotency-key': 'early-1' });
    await eventually(loadBegun);
    await again.finish();
    const two = await again.answer;
    expect(two.status).toBe(202);
    expect(two.headers['idempotent-replayed']).toBe('true');
    expect(JSON.parse(two.body).id).toBe(id);
    await eventually(async () => (await loadsGone()) && uploads().length === 0);
    expect(await imports()).toHaveLength(count);
    expect(await waitForImport(t, a.auth, id)).toMatchObject({ status: 'completed', rows_imported: 3000, rows_total: 3000 });
  });

  it('a reused Idempotency-Key with another file, sent slowly: 422, and none of its rows is stored', async () => {
    const first = await importCsv(t, a.auth, csv(5, 'K'));
    expect(first.status).toBe('completed');
    const keyed = slowUpload(Buffer.from(csv(5, 'K')), 0, { 'idempotency-key': 'early-2' });
    await keyed.finish();
    expect((await keyed.answer).status).toBe(202);
    const count = (await imports()).length;
    // Another file under the same key: read while it arrives, then refused.
    const other = slowUpload(Buffer.from(csv(3000, 'Z')), 64 * 1024, { 'idempotency-key': 'early-2' });
    await eventually(loadBegun);
    await other.finish();
    const res = await other.answer;
    expect(res.status).toBe(422);
    expect(JSON.parse(res.body).errors).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) }]);
    await eventually(async () => (await loadsGone()) && uploads().length === 0);
    expect(await imports()).toHaveLength(count);
    expect((await t.request.get('/api/v1/debts/Z-000000').set(a.auth)).status).toBe(404);
    expect((await t.request.get('/api/v1/debts/Z-002999').set(a.auth)).status).toBe(404);
  });

  it.runIf(usingPostgres)("uploads whose creditor's turn is taken hold no load meanwhile: another creditor's import runs", async () => {
    const b = await seedCreditor(t);
    // Another import of creditor a holds its turn (here: a session holding the same lock).
    const holder = await t.database.pool!.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`quita:import:${a.creditorId}`]);
      // More uploads of a than loads may run at once, each broken off: none may keep a load.
      for (let i = 0; i < 3; i++) {
        const up = slowUpload(Buffer.from(csv(3000, 'W')), 64 * 1024);
        await pause(100);
        up.abort();
        await expect(up.answer).rejects.toThrow();
      }
      const res = await t.request.post('/api/v1/imports').set(b.auth).set('content-type', 'text/csv').send(csv(10, 'OTHER'));
      expect(res.status).toBe(202);
      expect(await waitForImport(t, b.auth, res.body.id as string, 5000)).toMatchObject({ status: 'completed', rows_imported: 10 });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await t.request.get('/api/v1/debts/W-000000').set(a.auth)).status).toBe(404);
    await eventually(async () => uploads().length === 0);
  });

  it('a file that is no CSV fails as a whole once its upload ends, and changes nothing', async () => {
    const before = (await imports()).length;
    const xlsx = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200 * 1024, 7)]);
    const up = slowUpload(xlsx, 64 * 1024);
    await pause(100); // on PostgreSQL the load has met the first bytes by now, and failed
    expect(await imports()).toHaveLength(before);
    await up.finish();
    const res = await up.answer;
    expect(res.status).toBe(202);
    const done = await waitForImport(t, a.auth, JSON.parse(res.body).id as string);
    expect(done).toMatchObject({ status: 'failed', rows_total: 0, rows_imported: 0, rows_rejected: 0 });
    expect(done.error).toMatch(/salve a planilha como CSV/);
    expect(await imports()).toHaveLength(before + 1);
    expect(uploads()).toEqual([]);
  });

  it('a dry run read while uploaded stores nothing', async () => {
    const body = Buffer.from(csv(2000, 'D'));
    const up = slowUpload(body, 32 * 1024, {}, '?dry_run=true');
    await up.finish();
    const res = await up.answer;
    expect(res.status).toBe(202);
    expect(await waitForImport(t, a.auth, JSON.parse(res.body).id as string)).toMatchObject({ status: 'completed', dry_run: true, rows_total: 2000, rows_imported: 2000 });
    expect((await t.request.get('/api/v1/debts/D-000000').set(a.auth)).status).toBe(404);
  });
});
