// The upsert rules of an import (CONTRACT §4.3): re-imports, updates, debts that are not
// open, credited_cents, concurrent imports, dry runs, the imports list, errors.csv,
// progress, Idempotency-Key, upload errors, and prescription by the job afterwards.
// The app's clock reads 2026-11-23 12:00 -03:00: the prescription cutoff is 2021-11-23.
import { and, eq, sql } from 'drizzle-orm';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debts } from '../../src/db/schema/index.js';
import { prescribeDebtsJob } from '../../src/jobs/prescribe-debts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv, waitForImport, type ImportResult } from '../helpers/imports.js';
import { allDebts, debtRow, errorsCsv, setDebt, type Auth } from '../helpers/portfolio.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { cpfNumber, formatCpf } from '../fixtures/csv/support.js';

const HEADER = 'external_id;cpf;nome;e-mail;telefone;valor;vencimento;descricao';
type Row = [id: string, cpf: string, name: string, amount: string, due: string, extra?: { email?: string; phone?: string; description?: string }];

const cell = (s: string) => (/[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

function csv(rows: Row[]): string {
  const lines = rows.map(([id, cpf, name, amount, due, x = {}]) => [id, cpf, name, x.email ?? '', x.phone ?? '', amount, due, x.description ?? ''].map(cell).join(';'));
  return [HEADER, ...lines].join('\r\n') + '\r\n';
}

const STATUS_MESSAGES = {
  in_agreement: 'dívida em acordo: não pode ser alterada enquanto o acordo estiver vigente',
  settled: 'dívida já quitada: não pode ser alterada',
  withdrawn: 'dívida retirada: não pode ser alterada',
  prescribed: 'dívida prescrita: não pode ser alterada',
} as const;
const CREDITED_MESSAGE = 'valor menor que o já pago em acordo anterior (credited_cents)';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

/** Every stored column of every debt of a creditor, updated_at included, by external_id. */
async function dbRows(creditorId: string) {
  const rows = await t.database.db.select().from(debts).where(eq(debts.creditorId, creditorId));
  return new Map(rows.map((r) => [r.externalId, r]));
}

async function debtCount(creditorId: string): Promise<number> {
  const [row] = await t.database.db.select({ n: sql<number>`count(*)::int` }).from(debts).where(eq(debts.creditorId, creditorId));
  return row!.n;
}

async function importCount(auth: Auth): Promise<number> {
  const res = await t.request.get('/api/v1/imports?limit=500').set(auth);
  expect(res.status).toBe(200);
  return (res.body.data as unknown[]).length;
}

function post(auth: Auth, body: string | Buffer, query = '') {
  return t.request.post(`/api/v1/imports${query}`).set(auth).set('content-type', 'text/csv').send(Buffer.isBuffer(body) ? body : Buffer.from(body));
}

describe('upsert by (creditor, external_id)', () => {
  let c: SeededCreditor;
  const BASE: Row[] = [
    ['R-1', cpfNumber(1), 'Ana Souza', '100,00', '10/01/2026', { email: 'ana@exemplo.com', phone: '(11) 91234-5678', description: 'Mensalidade' }],
    ['R-2', cpfNumber(2), 'Bruno Lima', '200,00', '2025-06-30'],
    ['R-3', cpfNumber(3), 'Carla Dias', '300,00', '15/03/2024', { description: 'Parcela\ncom quebra' }],
    ['R-4', cpfNumber(4), 'Davi Reis', '400,00', '01/12/2023'],
    ['R-5', cpfNumber(5), 'Eva Melo', '500,00', '01/02/2022'],
    ['R-6', formatCpf(cpfNumber(6)), 'Fábio Nunes', '1.000,00', '20/11/2026'],
  ];

  beforeAll(async () => {
    c = await seedCreditor(t);
    const first = await importCsv(t, c.auth, csv(BASE));
    expect(first).toMatchObject({ status: 'completed', rows_total: 6, rows_imported: 6, rows_rejected: 0 });
  });

  const baseFile = (change: (rows: Row[]) => Row[] = (r) => r) => csv(change(structuredClone(BASE)));

  it('a re-import of the same file changes nothing and duplicates nothing (raw and multipart)', async () => {
    const beforeApi = await allDebts(t, c.auth);
    const beforeDb = await dbRows(c.creditorId);
    expect(beforeApi).toHaveLength(6);
    for (const multipart of [false, true]) {
      const again = await importCsv(t, c.auth, baseFile(), { multipart });
      expect(again).toMatchObject({ status: 'completed', rows_total: 6, rows_imported: 6, rows_rejected: 0, errors: [] });
      expect(await allDebts(t, c.auth)).toEqual(beforeApi);
      // not even updated_at moved: an unchanged row is not written
      expect(await dbRows(c.creditorId)).toEqual(beforeDb);
      expect(await debtCount(c.creditorId)).toBe(6);
    }
  });

  it('a changed amount updates an open debt, and only that debt', async () => {
    const before = await dbRows(c.creditorId);
    const result = await importCsv(t, c.auth, baseFile((rows) => (rows[1]![3] = '250,50', rows)));
    expect(result).toMatchObject({ status: 'completed', rows_imported: 6, rows_rejected: 0 });
    const after = await dbRows(c.creditorId);
    expect(after.get('R-2')).toMatchObject({ amountCents: 25_050, id: before.get('R-2')!.id });
    expect(after.get('R-2')!.updatedAt.getTime()).toBeGreaterThan(before.get('R-2')!.updatedAt.getTime());
    for (const id of ['R-1', 'R-3', 'R-4', 'R-5', 'R-6']) expect(after.get(id)).toEqual(before.get(id));
    expect((await t.request.get('/api/v1/debts/R-2').set(c.auth)).body).toMatchObject({ amount_cents: 25_050, status: 'open' });
    BASE[1]![3] = '250,50';
  });

  it('other fields update too, and emptied optional fields become null', async () => {
    const result = await importCsv(
      t,
      c.auth,
      baseFile((rows) => {
        rows[0] = ['R-1', cpfNumber(1), 'Ana Souza Lima', '100,00', '11/01/2026'];
        return rows;
      }),
    );
    expect(result).toMatchObject({ rows_imported: 6, rows_rejected: 0 });
    expect((await t.request.get('/api/v1/debts/R-1').set(c.auth)).body).toMatchObject({
      name: 'Ana Souza Lima',
      due_date: '2026-01-11',
      email: null,
      phone: null,
      description: null,
    });
    BASE[0] = ['R-1', cpfNumber(1), 'Ana Souza Lima', '100,00', '11/01/2026'];
  });

  it('a debt in_agreement, settled, withdrawn or prescribed is left as it is and its row rejected with the reason', async () => {
    await setDebt(t, c.creditorId, 'R-3', { status: 'in_agreement' });
    await setDebt(t, c.creditorId, 'R-4', { status: 'settled' });
    await setDebt(t, c.creditorId, 'R-5', { status: 'withdrawn', withdrawnReason: 'paid_elsewhere' });
    await setDebt(t, c.creditorId, 'R-6', { status: 'prescribed' });
    const before = await dbRows(c.creditorId);
    const changed = baseFile((rows) => rows.map((r) => ((r[3] = '999,99'), r)));
    for (const multipart of [false, true]) {
      const result = await importCsv(t, c.auth, changed, { multipart });
      expect(result).toMatchObject({ status: 'completed', rows_total: 6, rows_imported: 2, rows_rejected: 4 });
      expect(result.errors).toEqual([
        { line: 4, column: 'external_id', message: STATUS_MESSAGES.in_agreement },
        { line: 5, column: 'external_id', message: STATUS_MESSAGES.settled },
        { line: 6, column: 'external_id', message: STATUS_MESSAGES.withdrawn },
        { line: 7, column: 'external_id', message: STATUS_MESSAGES.prescribed },
      ]);
    }
    const after = await dbRows(c.creditorId);
    for (const id of ['R-3', 'R-4', 'R-5', 'R-6']) expect(after.get(id)).toEqual(before.get(id));
    expect(after.get('R-1')!.amountCents).toBe(99_999);
    expect(after.get('R-2')!.amountCents).toBe(99_999);
    // the same values as stored are refused too: the row does not describe an open debt
    const same = await importCsv(t, c.auth, csv([BASE[2]!.slice(0, 5) as Row]));
    expect(same.errors).toEqual([{ line: 2, column: 'external_id', message: STATUS_MESSAGES.in_agreement }]);
  });

  it('credited_cents is never changed by an import; an amount below it is refused', async () => {
    await setDebt(t, c.creditorId, 'R-2', { amountCents: 10_000, creditedCents: 5_000 });
    const row = (amount: string): Row => ['R-2', cpfNumber(2), 'Bruno Lima', amount, '2025-06-30'];

    const higher = await importCsv(t, c.auth, csv([row('80,00')]));
    expect(higher).toMatchObject({ rows_imported: 1, rows_rejected: 0 });
    expect(await debtRow(t, c.creditorId, 'R-2')).toMatchObject({ amountCents: 8_000, creditedCents: 5_000, status: 'open' });

    const equal = await importCsv(t, c.auth, csv([row('50,00')]));
    expect(equal).toMatchObject({ rows_imported: 1, rows_rejected: 0 });
    expect(await debtRow(t, c.creditorId, 'R-2')).toMatchObject({ amountCents: 5_000, creditedCents: 5_000 });

    const lower = await importCsv(t, c.auth, csv([row('49,99')]));
    expect(lower).toMatchObject({ status: 'completed', rows_imported: 0, rows_rejected: 1 });
    expect(lower.errors).toEqual([{ line: 2, column: 'amount', message: CREDITED_MESSAGE }]);
    expect(await debtRow(t, c.creditorId, 'R-2')).toMatchObject({ amountCents: 5_000, creditedCents: 5_000 });
    expect((await t.request.get('/api/v1/debts/R-2').set(c.auth)).body).toMatchObject({ amount_cents: 5_000, credited_cents: 5_000 });
  });
});

describe('stored exactly', () => {
  it('backslashes, tabs, `\\N` and quotes in values survive the trip through the database', async () => {
    const c = await seedCreditor(t);
    const description = 'C:\\pasta\\N arquivo\ttab "aspas" \\N\nsegunda linha';
    const result = await importCsv(t, c.auth, csv([['Q\\1', cpfNumber(1), 'Nome\\Barra', '1,00', '01/01/2026', { description }], ['\\N', cpfNumber(2), '\\N', '2,00', '01/01/2026']]));
    expect(result).toMatchObject({ rows_imported: 2, rows_rejected: 0 });
    expect((await t.request.get(`/api/v1/debts/${encodeURIComponent('Q\\1')}`).set(c.auth)).body).toMatchObject({ name: 'Nome\\Barra', description });
    expect((await t.request.get(`/api/v1/debts/${encodeURIComponent('\\N')}`).set(c.auth)).body).toMatchObject({ external_id: '\\N', name: '\\N', description: null });
    // and a re-import sees them as unchanged
    const before = await dbRows(c.creditorId);
    await importCsv(t, c.auth, csv([['Q\\1', cpfNumber(1), 'Nome\\Barra', '1,00', '01/01/2026', { description }], ['\\N', cpfNumber(2), '\\N', '2,00', '01/01/2026']]));
    expect(await dbRows(c.creditorId)).toEqual(before);
  });
});

describe('two imports of the same file started at once', () => {
  it('leave one copy of each debt', async () => {
    const c = await seedCreditor(t);
    const rows: Row[] = Array.from({ length: 2_000 }, (_, i) => [`S-${i}`, cpfNumber(i), `Nome ${i}`, `${i + 1},00`, '01/06/2026']);
    const body = csv(rows);
    const started = await Promise.all([post(c.auth, body), post(c.auth, body)]);
    for (const res of started) expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(started[0]!.body.id).not.toBe(started[1]!.body.id);
    const results = await Promise.all(started.map((res) => waitForImport(t, c.auth, res.body.id as string)));
    for (const result of results) expect(result).toMatchObject({ status: 'completed', rows_total: 2_000, rows_imported: 2_000, rows_rejected: 0 });
    expect(await debtCount(c.creditorId)).toBe(2_000);
    const list = await allDebts(t, c.auth);
    expect(new Set(list.map((d) => d.external_id)).size).toBe(2_000);
    expect(list.find((d) => d.external_id === 'S-1999')).toMatchObject({ amount_cents: 200_000 });
  });
});

describe('dry run', () => {
  it('reports exactly what the import would, and stores nothing', async () => {
    const c = await seedCreditor(t);
    const seeded = await importCsv(
      t,
      c.auth,
      csv([
        ['D-1', cpfNumber(11), 'Aberta', '100,00', '01/01/2026'],
        ['D-2', cpfNumber(12), 'Em Acordo', '100,00', '01/01/2026'],
        ['D-3', cpfNumber(13), 'Com Crédito', '100,00', '01/01/2026'],
        ['D-4', cpfNumber(14), 'Igual', '100,00', '01/01/2026'],
      ]),
    );
    expect(seeded.rows_imported).toBe(4);
    await setDebt(t, c.creditorId, 'D-2', { status: 'in_agreement' });
    await setDebt(t, c.creditorId, 'D-3', { creditedCents: 6_000 });
    const file = csv([
      ['D-1', cpfNumber(11), 'Aberta', '150,00', '01/01/2026'], // update
      ['D-2', cpfNumber(12), 'Em Acordo', '90,00', '01/01/2026'], // not open
      ['D-3', cpfNumber(13), 'Com Crédito', '50,00', '01/01/2026'], // below credited
      ['D-4', cpfNumber(14), 'Igual', '100,00', '01/01/2026'], // unchanged
      ['D-5', cpfNumber(15), 'Nova', '10,00', '01/01/2026'], // new
      ['D-6', '111.111.111-11', 'CPF Ruim', '10,00', '01/01/2026'], // bad row
      ['D-5', cpfNumber(16), 'Repetida', '10,00', '01/01/2026'], // repeated id
      ['D-8', cpfNumber(18), 'Prescrita', '10,00', '22/11/2021'], // prescribed
    ]);
    const beforeApi = await allDebts(t, c.auth);
    const beforeDb = await dbRows(c.creditorId);

    const dry = await importCsv(t, c.auth, file, { dryRun: true });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true, rows_total: 8, rows_imported: 3, rows_rejected: 5 });
    expect(dry.errors).toEqual([
      { line: 3, column: 'external_id', message: STATUS_MESSAGES.in_agreement },
      { line: 4, column: 'amount', message: CREDITED_MESSAGE },
      { line: 7, column: 'cpf', message: 'CPF inválido: todos os dígitos iguais' },
      { line: 8, column: 'external_id', message: 'external_id repetido: já aparece na linha 6' },
      { line: 9, column: 'due_date', message: 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)' },
    ]);
    expect(await allDebts(t, c.auth)).toEqual(beforeApi);
    expect(await dbRows(c.creditorId)).toEqual(beforeDb);
    const dryMulti = await importCsv(t, c.auth, file, { dryRun: true, multipart: true });
    const sameBut = (r: ImportResult) => ({ ...r, id: undefined, created_at: undefined, finished_at: undefined });
    expect(sameBut(dryMulti)).toEqual(sameBut(dry));
    expect(await dbRows(c.creditorId)).toEqual(beforeDb);

    const real = await importCsv(t, c.auth, file);
    const pick = (r: ImportResult) => ({ status: r.status, rows_total: r.rows_total, rows_imported: r.rows_imported, rows_rejected: r.rows_rejected, errors: r.errors, error: r.error });
    expect(real.dry_run).toBe(false);
    expect(pick(real)).toEqual(pick(dry));
    const after = await dbRows(c.creditorId);
    expect([...after.keys()].sort()).toEqual(['D-1', 'D-2', 'D-3', 'D-4', 'D-5']);
    expect(after.get('D-1')!.amountCents).toBe(15_000);
    expect(after.get('D-5')!.name).toBe('Nova');
  });

  it('a dry run of a failing file fails the same way', async () => {
    const c = await seedCreditor(t);
    const dry = await importCsv(t, c.auth, 'external_id;nome;valor\nA;Ana;1,00\n', { dryRun: true });
    const real = await importCsv(t, c.auth, 'external_id;nome;valor\nA;Ana;1,00\n');
    expect(dry).toMatchObject({ status: 'failed', dry_run: true, error: real.error });
    expect(real.error).toMatch(/^faltam as colunas obrigatórias: cpf; due_date \(ou vencimento, data_vencimento\)\./);
  });

  it('dry_run takes only true or false', async () => {
    const c = await seedCreditor(t);
    const res = await post(c.auth, csv([['X', cpfNumber(1), 'X', '1,00', '01/01/2026']]), '?dry_run=yes');
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['dry_run']);
    expect(await importCount(c.auth)).toBe(0);
  });
});

describe('GET /api/v1/imports', () => {
  it('lists newest first with cursor pagination', async () => {
    const c = await seedCreditor(t);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await importCsv(t, c.auth, csv([[`L-${i}`, cpfNumber(i), 'Nome', '1,00', '01/01/2026']]), { dryRun: i === 2 });
      ids.push(r.id);
    }
    const newestFirst = [...ids].reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await t.request.get(`/api/v1/imports?limit=2${cursor ? `&cursor=${cursor}` : ''}`).set(c.auth);
      expect(res.status).toBe(200);
      pages++;
      expect(res.body.data.length).toBe(pages < 3 ? 2 : 1);
      for (const item of res.body.data) {
        expect(Object.keys(item).sort()).toEqual(['created_at', 'dry_run', 'finished_at', 'id', 'rows_imported', 'rows_rejected', 'rows_total', 'status']);
        seen.push(item.id);
      }
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);
    const all = await t.request.get('/api/v1/imports').set(c.auth);
    expect(all.body.next_cursor).toBeNull();
    expect(all.body.data.map((i: { id: string }) => i.id)).toEqual(newestFirst);
    expect(all.body.data.map((i: { dry_run: boolean }) => i.dry_run)).toEqual([false, false, true, false, false]);
    const times = all.body.data.map((i: { created_at: string }) => Date.parse(i.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('limit is 1–500 and a forged cursor is refused', async () => {
    const c = await seedCreditor(t);
    const forged = (value: unknown) => `cursor=${Buffer.from(JSON.stringify(value)).toString('base64url')}`;
    const cases = [
      'limit=0',
      'limit=501',
      'limit=abc',
      'cursor=not-a-cursor',
      forged(['x', 'y']),
      // well-formed JSON, but not a cursor this API hands out: a non-UUID id, a year PostgreSQL cannot hold
      forged(['2026-11-23T15:00:00.000Z', 'not-a-uuid']),
      forged(['-100000-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
    ];
    for (const q of cases) {
      const res = await t.request.get(`/api/v1/imports?${q}`).set(c.auth);
      expect(res.status, q).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([q.split('=')[0]]);
    }
    expect((await t.request.get(`/api/v1/imports?${forged(['2026-11-23T15:00:00.000Z', '00000000-0000-4000-8000-000000000000'])}`).set(c.auth)).status).toBe(200);
    for (const q of ['limit=1', 'limit=500']) expect((await t.request.get(`/api/v1/imports?${q}`).set(c.auth)).status).toBe(200);
  });

  it('an unknown import answers 404, a malformed id 422', async () => {
    const c = await seedCreditor(t);
    expect((await t.request.get('/api/v1/imports/00000000-0000-4000-8000-000000000000').set(c.auth)).status).toBe(404);
    expect((await errorsCsv(t, c.auth, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.request.get('/api/v1/imports/nope').set(c.auth)).status).toBe(422);
  });
});

/** Parses `;`-separated CSV with "quoted" fields (doubled quotes inside), CRLF records. */
function parseSemicolonCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ';') {
      record.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || record.length > 0) {
    record.push(cell);
    records.push(record);
  }
  return records;
}

describe('errors.csv', () => {
  let c: SeededCreditor;
  let result: ImportResult;
  const expected: string[][] = [];

  beforeAll(async () => {
    c = await seedCreditor(t);
    // an in_agreement debt: its row is rejected in the merge phase, not while reading
    await importCsv(t, c.auth, csv([['E-0', cpfNumber(0), 'Em Acordo', '1,00', '01/01/2026']]));
    await setDebt(t, c.creditorId, 'E-0', { status: 'in_agreement' });
    const lines = [HEADER, `E-0;${cpfNumber(0)};Em Acordo;;;2,00;01/01/2026;`];
    expected.push(['2', 'external_id', STATUS_MESSAGES.in_agreement]);
    for (let i = 1; i <= 1_250; i++) {
      const line = lines.length + 1;
      switch (i % 5) {
        case 0:
          lines.push(`E-${i};${cpfNumber(i)};Boa ${i};;;1,00;01/01/2026;`);
          break;
        case 1:
          lines.push(`E-${i};${cpfNumber(i)};Email ${i};joao@;;1,00;01/01/2026;`);
          expected.push([String(line), 'email', 'e-mail inválido: "joao@"']);
          break;
        case 2: // more cells than the header: the message quotes the delimiter
          lines.push(`E-${i};${cpfNumber(i)};Longa ${i};;;1,00;01/01/2026;x;sobra`);
          expected.push([String(line), '', 'a linha tem 9 campos, mas o cabeçalho tem 8: algum valor contém o separador ";" sem estar entre aspas?']);
          break;
        case 3:
          lines.push(`E-${i};111.111.111-11;Cpf ${i};;;1,00;01/01/2026;`);
          expected.push([String(line), 'cpf', 'CPF inválido: todos os dígitos iguais']);
          break;
        case 4:
          lines.push(`E-${i};${cpfNumber(i)};Valor ${i};;;1.234;01/01/2026;`);
          expected.push([String(line), 'amount', 'valor "1.234" é ambíguo: para milhares escreva 1.234,00 ou 1234,00; para centavos use vírgula (1,23)']);
          break;
      }
    }
    result = await importCsv(t, c.auth, lines.join('\r\n') + '\r\n');
  });

  it('the JSON shows the first 1,000 errors; the import counts them all', async () => {
    expect(result).toMatchObject({ status: 'completed', rows_total: 1_251, rows_imported: 250, rows_rejected: 1_001 });
    expect(result.errors).toHaveLength(1_000);
    expect(result.errors.map((e) => [String(e.line), e.column ?? '', e.message])).toEqual(expected.slice(0, 1_000));
  });

  it('has every rejected row, UTF-8 with BOM, `;`-separated, header line;column;message, quoting fields with `;`', async () => {
    const res = await errorsCsv(t, c.auth, result.id);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/csv; charset=utf-8');
    expect([...res.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = res.body.toString('utf8').slice(1);
    expect(text.startsWith('line;column;message\r\n')).toBe(true);
    expect(text).toContain('\r\n1204;;"a linha tem 9 campos, mas o cabeçalho tem 8: algum valor contém o separador "";"" sem estar entre aspas?"\r\n');
    expect(text).toContain('\r\n1203;email;"e-mail inválido: ""joao@"""\r\n');
    const records = parseSemicolonCsv(text);
    expect(records[0]).toEqual(['line', 'column', 'message']);
    for (const r of records) expect(r).toHaveLength(3);
    const rows = records.slice(1);
    expect(rows).toHaveLength(1_001);
    const byLine = (a: string[], b: string[]) => Number(a[0]) - Number(b[0]);
    expect([...rows].sort(byLine)).toEqual(expected);
  });

  // Rows rejected while merging (a debt not open, an amount below credited_cents) are
  // found after the rows rejected while reading; errors.csv still lists them by line.
  it('lists the errors in line order, like the JSON', async () => {
    const rows = parseSemicolonCsv((await errorsCsv(t, c.auth, result.id)).body.toString('utf8').slice(1)).slice(1);
    expect(rows).toEqual(expected);
  });

  it('of an import without errors is the header alone', async () => {
    const ok = await importCsv(t, c.auth, csv([['OK-1', cpfNumber(1), 'Ana', '1,00', '01/01/2026']]));
    const res = await errorsCsv(t, c.auth, ok.id);
    expect(res.body.toString('utf8')).toBe('\ufeffline;column;message\r\n');
  });
});

describe('progress', () => {
  it('the counts are visible and grow while a larger import runs', async () => {
    const c = await seedCreditor(t);
    const N = 20_000; // four staging chunks of 5,000 rows
    let body = `${HEADER}\n`;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const wrong = i % 10 === 7;
      if (wrong) bad++;
      body += `P-${i};${cpfNumber(i)};Nome ${i};;;${wrong ? 'x' : '12,34'};01/01/2026;\n`;
    }
    const res = await post(c.auth, body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'processing' });
    const snapshots: ImportResult[] = [];
    for (;;) {
      const g = await t.request.get(`/api/v1/imports/${res.body.id}`).set(c.auth);
      snapshots.push(g.body as ImportResult);
      if (g.body.status !== 'processing') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const last = snapshots[snapshots.length - 1]!;
    expect(last).toMatchObject({ status: 'completed', rows_total: N, rows_imported: N - bad, rows_rejected: bad });
    // seen running with counts at least once
    expect(snapshots.some((s) => s.status === 'processing' && s.rows_total > 0)).toBe(true);
    for (let i = 1; i < snapshots.length; i++) {
      const [a, b] = [snapshots[i - 1]!, snapshots[i]!];
      expect(b.rows_total).toBeGreaterThanOrEqual(a.rows_total);
      expect(b.rows_imported).toBeGreaterThanOrEqual(a.rows_imported);
      expect(b.rows_rejected).toBeGreaterThanOrEqual(a.rows_rejected);
      expect(b.rows_imported + b.rows_rejected).toBeLessThanOrEqual(b.rows_total);
    }
    expect(await debtCount(c.creditorId)).toBe(N - bad);
  });
});

describe('POST /api/v1/imports: Idempotency-Key, content types, upload errors', () => {
  let c: SeededCreditor;
  beforeAll(async () => {
    c = await seedCreditor(t);
  });
  const fileA = csv([['I-1', cpfNumber(1), 'Ana', '1,00', '01/01/2026']]);
  const fileB = csv([['I-2', cpfNumber(2), 'Bia', '2,00', '01/01/2026']]);

  it('the same key and the same file: the same import, done once', async () => {
    const before = await importCount(c.auth);
    const first = await post(c.auth, fileA).set('Idempotency-Key', 'imp-key-1');
    expect(first.status).toBe(202);
    await waitForImport(t, c.auth, first.body.id);
    const second = await post(c.auth, fileA).set('Idempotency-Key', 'imp-key-1');
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(await importCount(c.auth)).toBe(before + 1);
    // as multipart, the same bytes are the same request
    const third = await t.request.post('/api/v1/imports').set(c.auth).set('Idempotency-Key', 'imp-key-1').attach('file', Buffer.from(fileA), 'carteira.csv');
    expect(third.status).toBe(202);
    expect(third.body.id).toBe(first.body.id);
    expect(await importCount(c.auth)).toBe(before + 1);
  });

  it('the same key with another file answers 422 and starts nothing', async () => {
    const before = await importCount(c.auth);
    const res = await post(c.auth, fileB).set('Idempotency-Key', 'imp-key-1');
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) }]);
    const dry = await post(c.auth, fileA, '?dry_run=true').set('Idempotency-Key', 'imp-key-1');
    expect(dry.status).toBe(422);
    expect(await importCount(c.auth)).toBe(before);
    expect((await t.request.get('/api/v1/debts/I-2').set(c.auth)).status).toBe(404);
  });

  it('a JSON (or other non-CSV) body answers 415', async () => {
    const before = await importCount(c.auth);
    const json = await t.request.post('/api/v1/imports').set(c.auth).send({ file: fileA });
    expect(json.status).toBe(415);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    const xml = await t.request.post('/api/v1/imports').set(c.auth).set('content-type', 'application/xml').send('<a/>');
    expect(xml.status).toBe(415);
    expect(await importCount(c.auth)).toBe(before);
  });

  it('multipart without a file, or with the file in another field, answers 422', async () => {
    const before = await importCount(c.auth);
    const noFile = await t.request.post('/api/v1/imports').set(c.auth).field('name', 'carteira');
    expect(noFile.status, JSON.stringify(noFile.body)).toBe(422);
    expect(noFile.body.errors).toEqual([{ path: 'file', message: expect.any(String) }]);
    const otherField = await t.request.post('/api/v1/imports').set(c.auth).attach('planilha', Buffer.from(fileA), 'carteira.csv');
    expect(otherField.status).toBe(422);
    expect(await importCount(c.auth)).toBe(before);
  });

  it('a raw body is taken under the content types spreadsheets and browsers send for a .csv', async () => {
    for (const type of ['text/csv; charset=utf-8', 'text/csv;charset=windows-1252', 'application/csv', 'text/plain', 'application/vnd.ms-excel', 'application/octet-stream']) {
      const res = await t.request.post('/api/v1/imports').set(c.auth).set('content-type', type).send(Buffer.from(fileA));
      expect(res.status, type).toBe(202);
      expect(await waitForImport(t, c.auth, res.body.id as string), type).toMatchObject({ status: 'completed', rows_imported: 1 });
    }
  });

  it('a malformed or truncated multipart body answers 400 and starts nothing', async () => {
    const before = await importCount(c.auth);
    const head = '--xyz\r\nContent-Disposition: form-data; name="file"; filename="carteira.csv"\r\nContent-Type: text/csv\r\n\r\n';
    const bodies: Array<[string, string]> = [
      ['multipart/form-data; boundary=xyz', 'not multipart at all'],
      ['multipart/form-data', `${head}${fileA}--xyz--\r\n`], // no boundary parameter
      ['multipart/form-data; boundary=xyz', `${head}${fileA}`], // ends inside the file part
    ];
    for (const [type, body] of bodies) {
      const res = await t.request.post('/api/v1/imports').set(c.auth).set('content-type', type).send(body);
      expect(res.status, body.slice(0, 20)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const whole = await t.request.post('/api/v1/imports').set(c.auth).set('content-type', 'multipart/form-data; boundary=xyz').send(`${head}${fileA}\r\n--xyz--\r\n`);
    expect(whole.status).toBe(202);
    await waitForImport(t, c.auth, whole.body.id as string);
    expect(await importCount(c.auth)).toBe(before + 1);
  });

  it('without a token answers 401', async () => {
    expect((await t.request.post('/api/v1/imports').set('content-type', 'text/csv').send(fileA)).status).toBe(401);
  });
});

describe('prescription after import', () => {
  it('a debt whose due date crosses the 5-year line is prescribed by the job and no longer offered', async () => {
    const c = await seedCreditor(t);
    const [x, y] = [cpfNumber(501), cpfNumber(502)];
    const result = await importCsv(
      t,
      c.auth,
      csv([
        ['PR-0', x, 'Um Dia Antes', '10,00', '22/11/2021'], // prescribed already
        ['PR-1', x, 'No Limite', '10,00', '23/11/2021'], // exactly five years: kept
        ['PR-2', x, 'Um Dia Depois', '10,00', '24/11/2021'],
        ['PR-3', y, 'Recente', '10,00', '01/10/2026'],
        ['PR-4', y, 'Em Acordo', '10,00', '01/01/2022'],
      ]),
    );
    expect(result).toMatchObject({ rows_imported: 4, rows_rejected: 1 });
    expect(result.errors).toEqual([{ line: 2, column: 'due_date', message: 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)' }]);
    await setDebt(t, c.creditorId, 'PR-4', { status: 'in_agreement', dueDate: '2021-01-01' });

    const ctx = { database: t.database, clock: t.clock, config: t.config, log: t.app.log };
    const status = async (id: string) => (await t.request.get(`/api/v1/debts/${id}`).set(c.auth)).body as { status: string; balance_cents: number };
    const link = async (cpf: string) => (await t.request.post('/api/v1/links').set(c.auth).send({ cpf })).status;
    const start = t.clock.now();
    try {
      await prescribeDebtsJob.run(ctx);
      expect((await status('PR-1')).status).toBe('open');
      expect(await link(x)).toBe(201);

      // "today" is the business calendar's (America/Sao_Paulo): 23:59:59 on the 23rd there is
      // already the 24th in UTC, and PR-1 is still collectable
      t.clock.set(new Date('2026-11-24T02:59:59Z'));
      await prescribeDebtsJob.run(ctx);
      expect((await status('PR-1')).status).toBe('open');

      t.clock.set(new Date('2026-11-24T03:00:00Z'));
      await prescribeDebtsJob.run(ctx);
      expect(await status('PR-1')).toMatchObject({ status: 'prescribed', balance_cents: 0 });
      expect(await status('PR-2')).toMatchObject({ status: 'open' });
      expect(await link(x)).toBe(201);

      t.clock.set(new Date('2026-11-25T12:00:00-03:00'));
      await prescribeDebtsJob.run(ctx);
      expect(await status('PR-2')).toMatchObject({ status: 'prescribed', balance_cents: 0 });
      // a debt in an agreement keeps its agreement; a recent one stays open
      expect((await status('PR-4')).status).toBe('in_agreement');
      expect((await status('PR-3')).status).toBe('open');
      // no longer offered: no link for a CPF whose only debts are prescribed
      expect(await link(x)).toBe(404);
      expect(await link(y)).toBe(201);
      const listed = await allDebts(t, c.auth, 'status=prescribed');
      expect(listed.map((d) => d.external_id).sort()).toEqual(['PR-1', 'PR-2']);
      // and an import does not revive it
      const again = await importCsv(t, c.auth, csv([['PR-2', x, 'Um Dia Depois', '10,00', '01/01/2026']]));
      expect(again.errors).toEqual([{ line: 2, column: 'external_id', message: STATUS_MESSAGES.prescribed }]);
      expect(await debtRow(t, c.creditorId, 'PR-2')).toMatchObject({ status: 'prescribed', dueDate: '2021-11-24' });
    } finally {
      t.clock.set(start);
    }
    const rows = await t.database.db.select({ id: debts.externalId }).from(debts).where(and(eq(debts.creditorId, c.creditorId), eq(debts.status, 'prescribed')));
    expect(rows).toHaveLength(2);
  });
});
