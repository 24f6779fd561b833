import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv } from '../helpers/imports.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

let t: TestApp;
let a: SeededCreditor;
beforeAll(async () => {
  t = await buildTestApp();
  a = await seedCreditor(t);
});
afterAll(async () => t.close());

const CSV = [
  'codigo;CPF;Nome;Valor;Vencimento;Descrição',
  'A1;529.982.247-25;João Conceição;1.234,56;15/10/2026;Mensalidade',
  'A2;52998224725;Maria;R$ 10,00;2026-09-01;"linha 1',
  'linha 2; com ponto e vírgula"',
  'A3;111.111.111-11;Zé;10,00;01/01/2026;',
  'A4;529.982.247-25;Ana;1.234;01/01/2026;',
].join('\r\n');

describe('imports', () => {
  it('imports good rows and reports bad ones by line and column', async () => {
    const result = await importCsv(t, a.auth, CSV);
    expect(result.status).toBe('completed');
    expect(result.rows_total).toBe(4);
    expect(result.rows_imported).toBe(2);
    expect(result.rows_rejected).toBe(2);
    expect(result.errors.map((e) => [e.line, e.column])).toEqual([
      [4, 'cpf'],
      [5, 'amount'],
    ]);
    const debt = await t.request.get('/api/v1/debts/A2').set(a.auth);
    expect(debt.status).toBe(200);
    expect(debt.body).toMatchObject({ external_id: 'A2', cpf: '52998224725', amount_cents: 1000, due_date: '2026-09-01', description: 'linha 1\nlinha 2; com ponto e vírgula', status: 'open' });
    expect(debt.body.balance_cents).toBeGreaterThan(1000);
  });

  it('a re-import changes nothing; a dry run stores nothing', async () => {
    const before = await t.request.get('/api/v1/debts').set(a.auth);
    const again = await importCsv(t, a.auth, CSV, { multipart: true });
    expect(again.rows_imported).toBe(2);
    const after = await t.request.get('/api/v1/debts').set(a.auth);
    expect(after.body).toEqual(before.body);
    const dry = await importCsv(t, a.auth, 'external_id,cpf,name,amount,due_date\nNEW1,52998224725,X,10.00,2026-01-01\n', { dryRun: true });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true, rows_imported: 1 });
    expect((await t.request.get('/api/v1/debts/NEW1').set(a.auth)).status).toBe(404);
  });

  it('an xlsx fails as a whole', async () => {
    const result = await importCsv(t, a.auth, Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4]));
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/salve a planilha como CSV/i);
  });

  it('errors.csv is UTF-8 with BOM and ;-separated', async () => {
    const list = await t.request.get('/api/v1/imports').set(a.auth);
    const withErrors = list.body.data.find((i: { rows_rejected: number }) => i.rows_rejected > 0);
    const res = await t.request.get(`/api/v1/imports/${withErrors.id}/errors.csv`).set(a.auth).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    const body = res.body as Buffer;
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(body.toString('utf8').slice(1).split('\r\n')[0]).toBe('line;column;message');
  });

  it('PUT /api/v1/debts upserts a batch with per-item errors', async () => {
    const res = await t.request
      .put('/api/v1/debts')
      .set(a.auth)
      .send({ debts: [{ external_id: 'B1', cpf: '52998224725', name: 'B', amount_cents: 500, due_date: '2026-10-01' }, { external_id: 'B2', cpf: '1', name: 'C', amount_cents: 0, due_date: '2026-02-30' }] });
    expect(res.status).toBe(200);
    expect(res.body.imported).toBe(1);
    expect(res.body.rejected).toBe(1);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['debts.1.amount_cents', 'debts.1.cpf', 'debts.1.due_date']);
  });
});

describe('import.completed', () => {
  it('is written for a finished import (also a failed one), never for a dry run', async () => {
    const before = (await t.request.get('/api/v1/events?limit=500').set(a.auth)).body.data.filter((e: { type: string }) => e.type === 'import.completed').length;
    const done = await importCsv(t, a.auth, 'external_id,cpf,name,amount,due_date\nEV1,52998224725,X,10.00,2026-01-01\n');
    const failed = await importCsv(t, a.auth, 'external_id,cpf\nEV2,52998224725\n');
    await importCsv(t, a.auth, 'external_id,cpf,name,amount,due_date\nEV3,52998224725,X,10.00,2026-01-01\n', { dryRun: true });
    const events = (await t.request.get('/api/v1/events?limit=500').set(a.auth)).body.data.filter((e: { type: string }) => e.type === 'import.completed');
    expect(events.length).toBe(before + 2);
    const ids = events.map((e: { data: { id: string; status: string; errors?: unknown } }) => [e.data.id, e.data.status, e.data.errors]);
    expect(ids).toEqual(expect.arrayContaining([[done.id, 'completed', undefined], [failed.id, 'failed', undefined]]));
  });
});
