// Two creditors on one portal (CONTRACT §4, §4.2, §4.3): neither sees nor touches the
// other's imports, error reports or debts (404 / empty lists, never 403), and the same
// external_id in both is two distinct debts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv, type ImportResult } from '../helpers/imports.js';
import { allDebts, debtRow, errorsCsv, setDebt } from '../helpers/portfolio.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { cpfNumber } from '../fixtures/csv/support.js';

const HEADER = 'external_id;cpf;nome;valor;vencimento;descricao';
const SHARED_CPF = cpfNumber(7);

let t: TestApp;
let a: SeededCreditor;
let b: SeededCreditor;
let aImport: ImportResult;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([seedCreditor(t), seedCreditor(t)]);
  aImport = await importCsv(
    t,
    a.auth,
    [HEADER, `SAME-1;${SHARED_CPF};Ana de A;100,00;01/01/2026;de A`, `A-ONLY;${cpfNumber(8)};Só de A;50,00;01/02/2026;`, `A-BAD;111.111.111-11;Ruim;1,00;01/01/2026;`].join('\n') + '\n',
  );
  expect(aImport).toMatchObject({ status: 'completed', rows_imported: 2, rows_rejected: 1 });
});
afterAll(async () => t.close());

describe("one creditor cannot see the other's data", () => {
  it('imports: 404 for the import and for its errors.csv, absent from the list', async () => {
    const one = await t.request.get(`/api/v1/imports/${aImport.id}`).set(b.auth);
    expect(one.status).toBe(404);
    expect(one.headers['content-type']).toMatch(/^application\/problem\+json/);
    const report = await errorsCsv(t, b.auth, aImport.id);
    expect(report.status).toBe(404);
    expect(report.body.toString('utf8')).not.toContain('111');
    const list = await t.request.get('/api/v1/imports').set(b.auth);
    expect(list.body).toEqual({ data: [], next_cursor: null });
    // the owner sees them
    expect((await t.request.get(`/api/v1/imports/${aImport.id}`).set(a.auth)).status).toBe(200);
    expect((await errorsCsv(t, a.auth, aImport.id)).body.toString('utf8')).toContain('\r\n4;cpf;CPF inválido: todos os dígitos iguais\r\n');
  });

  it('debts: 404 one by one, an empty list, filters included', async () => {
    for (const id of ['SAME-1', 'A-ONLY', 'A-BAD']) expect((await t.request.get(`/api/v1/debts/${id}`).set(b.auth)).status, id).toBe(404);
    for (const q of ['', '?status=open', `?cpf=${SHARED_CPF}`, `?cpf=${cpfNumber(8)}&status=open`]) {
      const res = await t.request.get(`/api/v1/debts${q}`).set(b.auth);
      expect(res.status).toBe(200);
      expect(res.body, q).toEqual({ data: [], next_cursor: null });
    }
  });

  it("a cursor taken from one creditor's list shows nothing of it to the other", async () => {
    const page = await t.request.get('/api/v1/debts?limit=1').set(a.auth);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    const res = await t.request.get(`/api/v1/debts?limit=1&cursor=${page.body.next_cursor}`).set(b.auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next_cursor: null });
  });

  it("withdrawing the other's debt answers 404 and changes nothing", async () => {
    const before = await debtRow(t, a.creditorId, 'A-ONLY');
    expect((await t.request.delete('/api/v1/debts/A-ONLY').set(b.auth)).status).toBe(404);
    expect((await t.request.delete('/api/v1/debts/A-ONLY').set(b.auth).send({ reason: 'paid_elsewhere' })).status).toBe(404);
    expect(await debtRow(t, a.creditorId, 'A-ONLY')).toEqual(before);
  });

  it("links are made only for one's own debtors", async () => {
    expect((await t.request.post('/api/v1/links').set(b.auth).send({ cpf: cpfNumber(8) })).status).toBe(404);
    expect((await t.request.post('/api/v1/links').set(a.auth).send({ cpf: cpfNumber(8) })).status).toBe(201);
  });
});

describe('the same external_id in both creditors', () => {
  it('is two distinct debts, each changed only by its owner', async () => {
    // A's debt is in an agreement: that must not reject B's row of the same id
    await setDebt(t, a.creditorId, 'SAME-1', { status: 'in_agreement' });
    const fromB = await importCsv(t, b.auth, `${HEADER}\nSAME-1;${SHARED_CPF};Ana de B;300,00;15/03/2026;de B\n`, { multipart: true });
    expect(fromB).toMatchObject({ status: 'completed', rows_imported: 1, rows_rejected: 0, errors: [] });
    const dryFromB = await importCsv(t, b.auth, `${HEADER}\nSAME-1;${SHARED_CPF};Ana de B;310,00;15/03/2026;de B\n`, { dryRun: true });
    expect(dryFromB).toMatchObject({ rows_imported: 1, rows_rejected: 0 });

    const inA = (await t.request.get('/api/v1/debts/SAME-1').set(a.auth)).body;
    const inB = (await t.request.get('/api/v1/debts/SAME-1').set(b.auth)).body;
    expect(inA).toMatchObject({ name: 'Ana de A', amount_cents: 10_000, due_date: '2026-01-01', description: 'de A', status: 'in_agreement' });
    expect(inB).toMatchObject({ name: 'Ana de B', amount_cents: 30_000, due_date: '2026-03-15', description: 'de B', status: 'open' });
    const [rowA, rowB] = [await debtRow(t, a.creditorId, 'SAME-1'), await debtRow(t, b.creditorId, 'SAME-1')];
    expect(rowA!.creditorId).toBe(a.creditorId);
    expect(rowB!.creditorId).toBe(b.creditorId);

    // B's JSON batch and withdrawal touch only B's debt
    const batch = await t.request.put('/api/v1/debts').set(b.auth).send({ debts: [{ external_id: 'SAME-1', cpf: SHARED_CPF, name: 'Ana de B', amount_cents: 32_000, due_date: '2026-03-15' }] });
    expect(batch.body).toEqual({ imported: 1, rejected: 0, errors: [] });
    const withdrawn = await t.request.delete('/api/v1/debts/SAME-1').set(b.auth);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ status: 'withdrawn', amount_cents: 32_000 });
    expect(await debtRow(t, a.creditorId, 'SAME-1')).toEqual(rowA);

    // lists and CPF filters keep them apart
    expect((await allDebts(t, a.auth, `cpf=${SHARED_CPF}`)).map((d) => [d.external_id, d.name])).toEqual([['SAME-1', 'Ana de A']]);
    expect((await allDebts(t, b.auth, `cpf=${SHARED_CPF}`)).map((d) => [d.external_id, d.name])).toEqual([['SAME-1', 'Ana de B']]);
    expect((await allDebts(t, a.auth)).map((d) => d.external_id).sort()).toEqual(['A-ONLY', 'SAME-1']);
    expect((await allDebts(t, b.auth)).map((d) => d.external_id)).toEqual(['SAME-1']);
  });

  it('an Idempotency-Key is per creditor: the same key from the other creditor starts its own import', async () => {
    const body = `${HEADER}\nIK-1;${cpfNumber(9)};Ivo;1,00;01/01/2026;\n`;
    const send = (auth: Record<string, string>) => t.request.post('/api/v1/imports').set(auth).set('Idempotency-Key', 'same-key').set('content-type', 'text/csv').send(body);
    const fromA = await send(a.auth);
    const fromB = await send(b.auth);
    expect([fromA.status, fromB.status]).toEqual([202, 202]);
    expect(fromB.body.id).not.toBe(fromA.body.id);
    expect((await t.request.get(`/api/v1/imports/${fromA.body.id}`).set(b.auth)).status).toBe(404);
    expect((await t.request.get(`/api/v1/imports/${fromB.body.id}`).set(a.auth)).status).toBe(404);
  });
});
