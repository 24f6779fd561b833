// debts.creditor_id names a creditor: kept by triggers (migration 0006) rather than a
// row-by-row foreign key. The same guarantees, on either database: no debt of a creditor
// that does not exist (by INSERT or by COPY), no debt moving to another creditor, no
// creditor deleted (or re-keyed) while it has debts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRawTransaction } from '../../src/db/raw.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

const MISSING = '00000000-0000-4000-8000-00000000dead';

describe('debts belong to a creditor that exists', () => {
  let t: TestApp;
  let a: SeededCreditor;
  let b: SeededCreditor;

  beforeAll(async () => {
    t = await buildTestApp();
    a = await seedCreditor(t);
    b = await seedCreditor(t);
    const put = await t.request
      .put('/api/v1/debts')
      .set(a.auth)
      .send({ debts: [{ external_id: 'E-1', cpf: '52998224725', name: 'Ana', amount_cents: 10_000, due_date: '2025-01-10' }] });
    expect(put.status).toBe(200);
  });
  afterAll(() => t.close());

  const columns = ['creditor_id', 'external_id', 'cpf', 'name', 'amount_cents', 'due_date'] as const;
  const debtsOf = async (creditorId: string) =>
    withRawTransaction(t.database, (tx) => tx.query<{ external_id: string }>('SELECT external_id FROM debts WHERE creditor_id = $1 ORDER BY external_id', [creditorId]));

  it('an INSERT naming a missing creditor fails as a whole, even beside a good row', async () => {
    const insert = (creditors: string[]) =>
      withRawTransaction(t.database, (tx) =>
        tx.query(
          `INSERT INTO debts (creditor_id, external_id, cpf, name, amount_cents, due_date)
           SELECT c::uuid, 'X-' || n, '52998224725', 'Bia', 100, DATE '2025-01-01' FROM unnest($1::text[]) WITH ORDINALITY AS u(c, n)`,
          [creditors],
        ),
      );
    await expect(insert([a.creditorId, MISSING])).rejects.toMatchObject({ code: '23503' });
    await expect(insert([MISSING])).rejects.toMatchObject({ code: '23503' });
    expect((await debtsOf(a.creditorId)).map((r) => r.external_id)).toEqual(['E-1']);
    await insert([a.creditorId, b.creditorId]);
    expect((await debtsOf(a.creditorId)).map((r) => r.external_id)).toEqual(['E-1', 'X-1']);
    expect((await debtsOf(b.creditorId)).map((r) => r.external_id)).toEqual(['X-2']);
  });

  it('a COPY naming a missing creditor fails as a whole', async () => {
    const copy = (creditor: string) =>
      withRawTransaction(t.database, (tx) => tx.copyIn('debts', columns, `${a.creditorId}\tC-1\t52998224725\tCid\t100\t2025-01-01\n${creditor}\tC-2\t52998224725\tCid\t100\t2025-01-01\n`));
    await expect(copy(MISSING)).rejects.toMatchObject({ code: '23503' });
    expect((await debtsOf(a.creditorId)).map((r) => r.external_id)).not.toContain('C-1');
    await copy(a.creditorId);
    expect((await debtsOf(a.creditorId)).map((r) => r.external_id)).toEqual(['C-1', 'C-2', 'E-1', 'X-1']);
  });

  it('a debt never moves to another creditor', async () => {
    await expect(
      withRawTransaction(t.database, (tx) => tx.query('UPDATE debts SET creditor_id = $1 WHERE creditor_id = $2', [b.creditorId, a.creditorId])),
    ).rejects.toMatchObject({ code: '23503' });
    // an update that keeps the creditor (named or not) is fine
    await withRawTransaction(t.database, (tx) => tx.query("UPDATE debts SET name = 'Ana Maria', creditor_id = creditor_id WHERE creditor_id = $1 AND external_id = 'E-1'", [a.creditorId]));
    expect((await debtsOf(a.creditorId)).map((r) => r.external_id)).toEqual(['C-1', 'C-2', 'E-1', 'X-1']);
  });

  it('a creditor with debts cannot be deleted or re-keyed; updating its other columns works', async () => {
    await expect(withRawTransaction(t.database, (tx) => tx.query('DELETE FROM creditors WHERE id = $1', [a.creditorId]))).rejects.toMatchObject({ code: '23503' });
    await expect(
      withRawTransaction(t.database, (tx) => tx.query('UPDATE creditors SET id = $1 WHERE id = $2', ['00000000-0000-4000-8000-00000000beef', a.creditorId])),
    ).rejects.toMatchObject({ code: '23503' });
    const [renamed] = await withRawTransaction(t.database, (tx) =>
      tx.query<{ name: string }>("UPDATE creditors SET name = 'Loja Renomeada', id = id WHERE id = $1 RETURNING name", [a.creditorId]),
    );
    expect(renamed!.name).toBe('Loja Renomeada');
    // under a stricter isolation level a delete cannot see debts committed after its snapshot: refused
    const c = await seedCreditor(t);
    await expect(
      withRawTransaction(t.database, async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await tx.query('DELETE FROM creditor_credentials WHERE creditor_id = $1', [c.creditorId]);
        await tx.query('DELETE FROM creditors WHERE id = $1', [c.creditorId]);
      }),
    ).rejects.toMatchObject({ code: '40001' });
    const profile = await t.request.get('/api/v1/profile').set(a.auth);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ name: 'Loja Renomeada' });
  });
});
