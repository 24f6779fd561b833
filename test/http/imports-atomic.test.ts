// An import across several batches, on both databases: a file that fails as a whole
// half-way changes nothing, the counts grow while it runs, two imports at once leave one
// copy of each debt, a re-import writes nothing, an import interrupted by a fault is run
// again from its spooled file. The imports here run in an import service of the test's own,
// with batches of a few rows, on the app's database; their results are read through the API.
//
// On PostgreSQL an import is one transaction: its debts appear all at once, at the end. On
// PGlite it is parsed whole first (into import_rows), then merged chunk by chunk.
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debts } from '../../src/db/schema/index.js';
import { createImportService, type ImportHooks } from '../../src/modules/portfolio/imports.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { usingPostgres } from '../helpers/db.js';
import { importCsv, waitForImport, type ImportResult } from '../helpers/imports.js';
import { errorsCsv, setDebt, type Auth } from '../helpers/portfolio.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { cpfNumber } from '../fixtures/csv/support.js';

const HEADER = 'external_id;cpf;nome;valor;vencimento;descricao';
const BATCH = 5;

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

type Row = [id: string, cpf: string, name: string, amount: string, due: string, description?: string];
const line = ([id, cpf, name, amount, due, description = '']: Row) => [id, cpf, name, amount, due, description].join(';');
const csv = (rows: Array<Row | string>) => [HEADER, ...rows.map((r) => (typeof r === 'string' ? r : line(r)))].join('\r\n') + '\r\n';
const rowsOf = (prefix: string, n: number, from = 0): Row[] =>
  Array.from({ length: n }, (_, i) => [`${prefix}-${from + i}`, cpfNumber(from + i), `Nome ${from + i}`, `${from + i + 1},00`, '01/06/2026']);

/** An import service of the test's own: batches of BATCH rows, and hooks to watch it. */
function service(hooks: ImportHooks = {}, batchRows = BATCH) {
  const { database, clock, config } = t.app.deps;
  return createImportService({ database, clock, config, log: t.app.log, hooks, batchRows });
}

/** Starts an import of `body` in `imports` and waits until that service is idle. */
async function run(imports: ReturnType<typeof service>, c: SeededCreditor, body: string, opts: { dryRun?: boolean } = {}): Promise<ImportResult> {
  const upload = await imports.receive(Readable.from([Buffer.from(body)]));
  const row = await imports.start(c.creditorId, upload, { dryRun: opts.dryRun ?? false });
  await imports.idle();
  return getImport(c.auth, row.id);
}

async function getImport(auth: Auth, id: string): Promise<ImportResult> {
  const res = await t.request.get(`/api/v1/imports/${id}`).set(auth);
  expect(res.status).toBe(200);
  return res.body as ImportResult;
}

/** Every stored column of every debt of a creditor (updated_at included), by external_id. */
async function dbRows(creditorId: string) {
  const rows = await t.database.db.select().from(debts).where(eq(debts.creditorId, creditorId));
  return new Map(rows.map((r) => [r.externalId, r]));
}

const status = async (auth: Auth, externalId: string) => (await t.request.get(`/api/v1/debts/${externalId}`).set(auth)).status;

describe('a file that fails as a whole after several batches', () => {
  it('changes nothing: no debt created or updated, no counts, no errors', async () => {
    const c = await seedCreditor(t);
    await importCsv(t, c.auth, csv([['U-1', cpfNumber(90), 'Ana Antiga', '5,00', '01/01/2025', 'antes']]));
    const before = await dbRows(c.creditorId);

    const progress: ImportResult[] = [];
    const imports = service({ onProgress: async (id) => void progress.push(await getImport(c.auth, id)) });
    const body = csv([
      ['U-1', cpfNumber(90), 'Ana Nova', '9,99', '01/01/2025', 'depois'],
      ...rowsOf('F', 6),
      ['F-BAD', '123', 'CPF Ruim', '1,00', '01/01/2025'],
      ...rowsOf('F', 8, 6),
      `Z-1;${cpfNumber(99)};Zé;1,00;01/01/2025;"sem fim`,
    ]);
    const result = await run(imports, c, body);

    expect(result).toMatchObject({ status: 'failed', rows_total: 0, rows_imported: 0, rows_rejected: 0, errors: [] });
    expect(result.error).toMatch(/^aspas não fechadas: o valor que começa na linha 18 /);
    // it did get that far: three batches were read (and, on PostgreSQL, merged) before the bad quote
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.every((p) => p.status === 'processing')).toBe(true);
    expect(Math.max(...progress.map((p) => p.rows_total))).toBeGreaterThanOrEqual(15);
    if (usingPostgres) expect(Math.max(...progress.map((p) => p.rows_imported))).toBeGreaterThanOrEqual(14);

    expect(await dbRows(c.creditorId)).toEqual(before);
    for (const id of ['F-0', 'F-5', 'F-13', 'Z-1']) expect(await status(c.auth, id)).toBe(404);
    expect((await errorsCsv(t, c.auth, result.id)).body.toString('utf8')).toBe('\ufeffline;column;message\r\n');
  });

  it('a dry run of it fails the same way', async () => {
    const c = await seedCreditor(t);
    const result = await run(service(), c, csv([...rowsOf('D', 12), `Z-1;${cpfNumber(99)};Zé;1,00;01/01/2025;"sem fim`]), { dryRun: true });
    expect(result).toMatchObject({ status: 'failed', dry_run: true, rows_total: 0, rows_imported: 0, rows_rejected: 0, errors: [] });
    expect(result.error).toMatch(/^aspas não fechadas: o valor que começa na linha 14 /);
  });
});

describe('while an import of several batches runs', () => {
  it('its counts are visible and grow; on PostgreSQL its debts appear only when it ends', async () => {
    const c = await seedCreditor(t);
    const rows: Array<Row | string> = rowsOf('P', 23);
    rows.splice(7, 0, ['P-BAD', cpfNumber(1), 'Valor Ruim', 'x', '01/06/2026']);
    const seen: ImportResult[] = [];
    const visible: number[] = [];
    const imports = service({
      onProgress: async (id) => {
        seen.push(await getImport(c.auth, id));
        visible.push(await status(c.auth, 'P-0'));
      },
    });
    const result = await run(imports, c, csv(rows));
    expect(result).toMatchObject({ status: 'completed', rows_total: 24, rows_imported: 23, rows_rejected: 1 });
    expect(result.errors).toEqual([{ line: 9, column: 'amount', message: expect.any(String) }]);

    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (const s of seen) expect(s.status).toBe('processing');
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.rows_total).toBeGreaterThanOrEqual(seen[i - 1]!.rows_total);
      expect(seen[i]!.rows_imported).toBeGreaterThanOrEqual(seen[i - 1]!.rows_imported);
      expect(seen[i]!.rows_imported + seen[i]!.rows_rejected).toBeLessThanOrEqual(seen[i]!.rows_total);
    }
    expect(seen[0]!.rows_total).toBeLessThan(24);
    // the rejected row is listed as soon as its batch is done
    expect(seen.find((s) => s.rows_total >= 10)!.errors).toEqual(result.errors);
    if (usingPostgres) {
      expect(seen.map((s) => s.rows_total)).toEqual([5, 10, 15, 20, 24]);
      expect(seen.map((s) => s.rows_imported)).toEqual([5, 9, 14, 19, 23]);
      expect(visible.every((s) => s === 404)).toBe(true);
    }
    expect(await status(c.auth, 'P-0')).toBe(200);
    expect(await status(c.auth, 'P-22')).toBe(200);
  });
});

describe('two imports at once, several batches each', () => {
  it('of the same file leave one copy of each debt', async () => {
    const c = await seedCreditor(t);
    const body = csv(rowsOf('S', 120));
    const imports = service({}, 20);
    const uploads = await Promise.all([0, 1].map(() => imports.receive(Readable.from([Buffer.from(body)]))));
    const started = await Promise.all(uploads.map((u) => imports.start(c.creditorId, u, { dryRun: false })));
    await imports.idle();
    for (const s of started) expect(await getImport(c.auth, s.id)).toMatchObject({ status: 'completed', rows_total: 120, rows_imported: 120, rows_rejected: 0 });
    const stored = await dbRows(c.creditorId);
    expect(stored.size).toBe(120);
    expect(stored.get('S-119')).toMatchObject({ amountCents: 12_000, status: 'open' });
  });

  it('of files naming the same debts in opposite orders do not deadlock', async () => {
    const c = await seedCreditor(t);
    const rows = rowsOf('O', 120);
    const forward = csv(rows);
    const backward = csv([...rows].reverse().map((r): Row => [r[0], r[1], `${r[2]} B`, r[3], r[4]]));
    const imports = service({}, 20);
    const uploads = await Promise.all([forward, backward].map((b) => imports.receive(Readable.from([Buffer.from(b)]))));
    const started = await Promise.all(uploads.map((u) => imports.start(c.creditorId, u, { dryRun: false })));
    await imports.idle();
    for (const s of started) expect(await getImport(c.auth, s.id)).toMatchObject({ status: 'completed', rows_imported: 120, rows_rejected: 0 });
    const stored = await dbRows(c.creditorId);
    expect(stored.size).toBe(120);
    // on PostgreSQL imports of one creditor take turns: whichever ran last wrote every name
    // (on PGlite their merges interleave, chunk by chunk)
    if (usingPostgres) expect(new Set([...stored.values()].map((d) => d.name.endsWith(' B'))).size).toBe(1);
  });
});

describe('a re-import across batches', () => {
  let c: SeededCreditor;
  // In batches of 5: N-0…N-4 are all new (the creditor has no debt in their range);
  // N-5, N-6, R-0…R-2 mix new and existing debts; R-3…R-7 all exist.
  const file = (change: (r: Row) => Row = (r) => r) => csv([...rowsOf('N', 7), ...rowsOf('R', 8)].map(change));
  const NOT_OPEN = [
    { line: 11, column: 'external_id', message: 'dívida em acordo: não pode ser alterada enquanto o acordo estiver vigente' },
    { line: 15, column: 'external_id', message: 'dívida já quitada: não pode ser alterada' },
  ];

  beforeAll(async () => {
    c = await seedCreditor(t);
    expect(await run(service(), c, csv(rowsOf('R', 8)))).toMatchObject({ status: 'completed', rows_imported: 8 });
    await setDebt(t, c.creditorId, 'R-2', { status: 'in_agreement' });
    await setDebt(t, c.creditorId, 'R-6', { status: 'settled' });
    await setDebt(t, c.creditorId, 'R-7', { creditedCents: 700 });
  });

  it('creates the new debts, writes nothing else (not even updated_at), and rejects what is not open', async () => {
    const before = await dbRows(c.creditorId);
    const result = await run(service(), c, file());
    expect(result).toMatchObject({ status: 'completed', rows_total: 15, rows_imported: 13, rows_rejected: 2, errors: NOT_OPEN });
    const after = await dbRows(c.creditorId);
    expect(after.size).toBe(15);
    for (const [id, row] of before) expect(after.get(id), id).toEqual(row);

    const again = await run(service(), c, file());
    expect(again).toMatchObject({ rows_imported: 13, rows_rejected: 2, errors: NOT_OPEN });
    expect(await dbRows(c.creditorId)).toEqual(after);
  });

  it('updates only the rows that changed; an amount below credited_cents is rejected', async () => {
    const before = await dbRows(c.creditorId);
    const result = await run(
      service(),
      c,
      file((r) => (r[0] === 'R-4' ? [r[0], r[1], 'Nome Novo', r[3], r[4]] : r[0] === 'R-7' ? [r[0], r[1], r[2], '6,99', r[4]] : r)),
    );
    expect(result).toMatchObject({ rows_imported: 12, rows_rejected: 3 });
    expect(result.errors).toEqual([...NOT_OPEN, { line: 16, column: 'amount', message: 'valor menor que o já pago em acordo anterior (credited_cents)' }]);
    const after = await dbRows(c.creditorId);
    expect(after.get('R-4')!.name).toBe('Nome Novo');
    expect(after.get('R-4')!.updatedAt.getTime()).toBeGreaterThan(before.get('R-4')!.updatedAt.getTime());
    expect(after.get('R-7')).toMatchObject({ amountCents: 800, creditedCents: 700 });
    for (const [id, row] of before) if (id !== 'R-4') expect(after.get(id), id).toEqual(row);
  });

  it('a dry run across batches reports what the import then does, and stores nothing', async () => {
    const before = await dbRows(c.creditorId);
    const body = csv([...rowsOf('N', 9), ...rowsOf('R', 8), ...rowsOf('X', 4)]);
    const dry = await run(service(), c, body, { dryRun: true });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true, rows_total: 21, rows_imported: 19, rows_rejected: 2 });
    expect(await dbRows(c.creditorId)).toEqual(before);
    const real = await run(service(), c, body);
    const same = (r: ImportResult) => ({ ...r, id: 0, dry_run: 0, created_at: 0, finished_at: 0 });
    expect(same(real)).toEqual(same(dry));
    expect((await dbRows(c.creditorId)).size).toBe(before.size + 6);
  });
});

describe('errors across batches', () => {
  it('errors.csv lists rows rejected while reading and while merging in line order', async () => {
    const c = await seedCreditor(t);
    await run(service(), c, csv(rowsOf('E', 12)));
    for (const id of ['E-1', 'E-6', 'E-11']) await setDebt(t, c.creditorId, id, { status: 'withdrawn' });
    const rows: Array<Row | string> = rowsOf('E', 12);
    rows.splice(3, 0, ['E-BAD1', '111.111.111-11', 'Ruim', '1,00', '01/01/2026']);
    rows.splice(9, 0, ['E-BAD2', cpfNumber(3), 'Ruim', '1.234', '01/01/2026']);
    const result = await run(service(), c, csv(rows));
    const expected = [
      [3, 'external_id'],
      [5, 'cpf'],
      [9, 'external_id'],
      [11, 'amount'],
      [15, 'external_id'],
    ];
    expect(result.errors.map((e) => [e.line, e.column])).toEqual(expected);
    const text = (await errorsCsv(t, c.auth, result.id)).body.toString('utf8');
    const listed = text.slice(1).split('\r\n').slice(1, -1).map((l) => [Number(l.split(';')[0]), l.split(';')[1]]);
    expect(listed).toEqual(expected);
  });
});

describe('an import interrupted by a fault', () => {
  it('stays processing with nothing stored, and runs again from its file when recovered', async () => {
    const c = await seedCreditor(t);
    const body = csv([...rowsOf('C', 9), ['C-BAD', '123', 'Ruim', '1,00', '01/01/2026'], ...rowsOf('C', 9, 9)]);
    let calls = 0;
    const failing = service({
      onProgress: () => {
        if (++calls === 2) throw new Error('the process died');
      },
    });
    const upload = await failing.receive(Readable.from([Buffer.from(body)]));
    const started = await failing.start(c.creditorId, upload, { dryRun: false });
    await failing.idle();
    expect(await getImport(c.auth, started.id)).toMatchObject({ status: 'processing' });
    expect((await dbRows(c.creditorId)).size).toBe(0);

    const recovering = service();
    expect(await recovering.recover({ all: true })).toBeGreaterThanOrEqual(1);
    await recovering.idle();
    const result = await waitForImport(t, c.auth, started.id);
    expect(result).toMatchObject({ status: 'completed', rows_total: 19, rows_imported: 18, rows_rejected: 1 });
    expect(result.errors).toEqual([{ line: 11, column: 'cpf', message: expect.any(String) }]);
    expect((await dbRows(c.creditorId)).size).toBe(18);
  });
});

describe('a debt created by another transaction while the import runs', () => {
  // PostgreSQL: a batch whose ids the creditor has none of is inserted without per-row
  // conflict handling; a debt another transaction creates meanwhile makes that insert fail,
  // and the import starts over (the second time it finds the debt, and updates it).
  it.runIf(usingPostgres)('makes the import start over, and it completes with the rules', async () => {
    const c = await seedCreditor(t);
    const other = await t.database.pool!.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO debts (creditor_id, external_id, cpf, name, amount_cents, due_date) VALUES ($1, 'P-12', $2, 'Outra Fonte', 100, '2026-01-01')`,
        [c.creditorId, cpfNumber(12)],
      );
      let committed = false;
      const imports = service({
        onProgress: () => {
          // batch 3 (P-10…P-14) is waiting for this transaction by now, or soon will be
          if (!committed) setTimeout(() => void other.query('COMMIT'), 100);
          committed = true;
        },
      });
      const result = await run(imports, c, csv(rowsOf('P', 20)));
      expect(result).toMatchObject({ status: 'completed', rows_total: 20, rows_imported: 20, rows_rejected: 0 });
      const stored = await dbRows(c.creditorId);
      expect(stored.size).toBe(20);
      expect(stored.get('P-12')).toMatchObject({ name: 'Nome 12', amountCents: 1_300 });
    } finally {
      other.release();
    }
  });
});

describe('a database where external_id does not compare as bytes', () => {
  // PostgreSQL: a batch's lowest and highest id, taken in JavaScript, bound it only in a
  // byte-wise collation; under another one every batch goes through the staging table.
  it.runIf(usingPostgres)('imports the same way', async () => {
    const t2 = await buildTestApp();
    try {
      await t2.database.pool!.query('ALTER TABLE debts ALTER COLUMN external_id TYPE text COLLATE "pt-BR-x-icu"');
      const c = await seedCreditor(t2);
      const { database, clock, config } = t2.app.deps;
      const imports = createImportService({ database, clock, config, log: t2.app.log, batchRows: 2 });
      const runIn = async (body: string) => {
        const upload = await imports.receive(Readable.from([Buffer.from(body)]));
        const row = await imports.start(c.creditorId, upload, { dryRun: false });
        await imports.idle();
        return (await t2.request.get(`/api/v1/imports/${row.id}`).set(c.auth)).body as ImportResult;
      };
      // in bytes 'B-1' < 'a-2' < 'b-0'; in pt-BR 'a-2' < 'b-0' < 'B-1'
      expect(await runIn(csv([['a-2', cpfNumber(2), 'A', '2,00', '01/06/2026'], ['b-0', cpfNumber(0), 'B', '1,00', '01/06/2026']]))).toMatchObject({ rows_imported: 2 });
      const result = await runIn(csv([['B-1', cpfNumber(1), 'Nova', '3,00', '01/06/2026'], ['a-2', cpfNumber(2), 'A Mudou', '2,00', '01/06/2026'], ['c-3', cpfNumber(3), 'C', '4,00', '01/06/2026']]));
      expect(result).toMatchObject({ status: 'completed', rows_total: 3, rows_imported: 3, rows_rejected: 0 });
      const names = Object.fromEntries((await t2.database.db.select().from(debts).where(eq(debts.creditorId, c.creditorId))).map((d) => [d.externalId, d.name]));
      expect(names).toEqual({ 'a-2': 'A Mudou', 'b-0': 'B', 'B-1': 'Nova', 'c-3': 'C' });
    } finally {
      await t2.close();
    }
  });
});
