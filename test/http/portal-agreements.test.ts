// GET/POST /api/v1/agreements (CONTRACT §4.6) and the debtor's agreement pages (§6.5).
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreements, parcels } from '../../src/db/schema/index.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor } from '../helpers/seed.js';
import { chooseAndConfirm, debtStatus, login, offersPage, seedPortal, textOf, type Portal, rowsOf } from './portal-helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

/** An agreement on the first debt, on the plan with `n` parcels (1 = cash). */
async function makeAgreement(p: Portal, n = 3, debtIndexes = [0]) {
  const a = await login(t, p);
  const { offers } = await offersPage(a, debtIndexes.map((i) => p.debts[i]!.id));
  const offer = n === 1 ? offers[0]! : offers.find((o) => o.title.startsWith(`${n}\u00d7`))!;
  const done = await chooseAndConfirm(a, offer);
  expect(done.status).toBe(303);
  return { a, id: (done.headers.location as string).split('/').pop()!, page: done.headers.location as string };
}

describe('GET /api/v1/agreements/{id}', () => {
  it('answers exactly the contract shape', async () => {
    const p = await seedPortal(t, [{ amountCents: 150_000 }, { amountCents: 80_000 }]);
    const { id } = await makeAgreement(p, 3, [0, 1]);
    const res = await t.request.get(`/api/v1/agreements/${id}`).set(p.creditor.auth);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(
      ['accepted_at', 'debts', 'discount_cents', 'effective_monthly_rate_pct', 'id', 'installment_monthly_rate_pct', 'installments', 'paid_cents', 'parcels', 'policy_version', 'status', 'total_cents'].sort(),
    );
    expect(res.body.status).toBe('pending');
    expect(res.body.debts).toEqual(p.debts.map((d) => d.externalId));
    expect(res.body.installments).toBe(3);
    expect(res.body.installment_monthly_rate_pct).toBe(1);
    expect(res.body.paid_cents).toBe(0);
    expect(res.body.parcels).toHaveLength(3);
    expect(res.body.parcels[0]).toEqual({ number: 1, due_date: '2026-11-23', amount_cents: expect.any(Number), status: 'pending', paid_at: null });
    expect(res.body.parcels.reduce((s: number, x: { amount_cents: number }) => s + x.amount_cents, 0)).toBe(res.body.total_cents);
  });

  it('answers 404 for another creditor’s agreement and for ids that are not ids', async () => {
    const p = await seedPortal(t);
    const { id } = await makeAgreement(p);
    const other = await seedCreditor(t);
    expect((await t.request.get(`/api/v1/agreements/${id}`).set(other.auth)).status).toBe(404);
    expect((await t.request.post(`/api/v1/agreements/${id}/cancel`).set(other.auth)).status).toBe(404);
    expect((await t.request.get('/api/v1/agreements/nope').set(other.auth)).status).toBe(404);
    expect((await t.request.get(`/api/v1/agreements/${id}`)).status).toBe(401);
  });
});

describe('GET /api/v1/agreements', () => {
  it('lists newest first with cursor pagination and a status filter', async () => {
    const p = await seedPortal(t, [{}, {}, {}]);
    const made: string[] = [];
    for (const i of [0, 1, 2]) {
      t.clock.set(new Date(t.clock.now().getTime() + 1000));
      made.push((await makeAgreement(p, 1, [i])).id);
    }
    await t.database.db.update(agreements).set({ status: 'active' }).where(eq(agreements.id, made[1]!));
    const first = await t.request.get('/api/v1/agreements?limit=2').set(p.creditor.auth);
    expect(first.status).toBe(200);
    expect(first.body.data.map((x: { id: string }) => x.id)).toEqual([made[2], made[1]]);
    const second = await t.request.get(`/api/v1/agreements?limit=2&cursor=${first.body.next_cursor}`).set(p.creditor.auth);
    expect(second.body.data.map((x: { id: string }) => x.id)).toEqual([made[0]]);
    expect(second.body.next_cursor).toBeNull();
    const active = await t.request.get('/api/v1/agreements?status=active').set(p.creditor.auth);
    expect(active.body.data.map((x: { id: string }) => x.id)).toEqual([made[1]]);
    expect((await t.request.get('/api/v1/agreements?status=nope').set(p.creditor.auth)).status).toBe(422);
    const other = await seedCreditor(t);
    expect((await t.request.get('/api/v1/agreements').set(other.auth)).body.data).toEqual([]);
  });
});

describe('POST /api/v1/agreements/{id}/cancel', () => {
  it('cancels a pending agreement: debts back to open, unpaid parcels cancelled, event emitted', async () => {
    const p = await seedPortal(t, [{}]);
    const { id } = await makeAgreement(p, 3);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('in_agreement');
    const res = await t.request.post(`/api/v1/agreements/${id}/cancel`).set(p.creditor.auth);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    expect(res.body.parcels.map((x: { status: string }) => x.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('open');
    const events = await rowsOf<{ type: string }>(t, sql`SELECT type FROM webhook_events WHERE data->>'id' = ${id} ORDER BY created_at`);
    expect(events.map((e) => e.type)).toEqual(['agreement.created', 'agreement.cancelled']);
    // only once
    expect((await t.request.post(`/api/v1/agreements/${id}/cancel`).set(p.creditor.auth)).status).toBe(409);
  });

  it('answers 409 for an active agreement and changes nothing', async () => {
    const p = await seedPortal(t, [{}]);
    const { id } = await makeAgreement(p, 3);
    await t.database.db.update(agreements).set({ status: 'active' }).where(eq(agreements.id, id));
    const res = await t.request.post(`/api/v1/agreements/${id}/cancel`).set(p.creditor.auth);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('in_agreement');
  });

  it('replays with the same Idempotency-Key', async () => {
    const p = await seedPortal(t, [{}]);
    const { id } = await makeAgreement(p, 2);
    const one = await t.request.post(`/api/v1/agreements/${id}/cancel`).set(p.creditor.auth).set('Idempotency-Key', 'cancel-1');
    const two = await t.request.post(`/api/v1/agreements/${id}/cancel`).set(p.creditor.auth).set('Idempotency-Key', 'cancel-1');
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    expect(two.body).toEqual(one.body);
  });
});

describe('the agreement page', () => {
  it('shows the status in words, the parcels, Pagar for the next one and Quitar antecipado', async () => {
    const p = await seedPortal(t, [{}]);
    const { a, id, page } = await makeAgreement(p, 3);
    const res = await a.get(page);
    const text = textOf(res.text);
    expect(text).toContain('Aguardando o pagamento da 1ª parcela');
    expect(res.text).toContain(`href="/acordos/${id}/pagar?parcela=1"`);
    expect(res.text).toMatch(/>Pagar<\/a>/);
    expect(res.text).toMatch(new RegExp(`href="/acordos/${id}/quitar">Quitar antecipado</a>`));
    expect(text).not.toContain('o credor foi informado');
    expect(text).toMatch(/CNPJ \d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}/);
    expect((await a.get(`/acordos/${id}/pagar?parcela=1`)).status).toBe(200);

    // parcel 1 paid: the creditor has been told; Pagar moves to parcel 2
    await t.database.db.update(parcels).set({ status: 'paid', paidAt: t.clock.now() }).where(and(eq(parcels.agreementId, id), eq(parcels.number, 1)));
    await t.database.db.update(agreements).set({ status: 'active' }).where(eq(agreements.id, id));
    const active = await a.get(page);
    expect(textOf(active.text)).toContain('o credor foi informado');
    expect(active.text).toContain(`href="/acordos/${id}/pagar?parcela=2"`);

    // all paid: settled, and the credit bureaus within 5 business days (Súmula 548)
    await t.database.db.update(parcels).set({ status: 'paid', paidAt: t.clock.now() }).where(eq(parcels.agreementId, id));
    await t.database.db.update(agreements).set({ status: 'completed' }).where(eq(agreements.id, id));
    const done = textOf((await a.get(page)).text);
    expect(done).toContain('Dívida quitada');
    expect(done).toContain('5 dias úteis');
    expect(done).toContain('Súmula 548');
    expect(done).not.toContain('Quitar antecipado');
    expect(done).not.toMatch(/\bPagar\b/);
  });

  it('offers a printable receipt with the consent time and the terms hash', async () => {
    const p = await seedPortal(t, [{}]);
    const { a, id } = await makeAgreement(p, 2);
    const [row] = await t.database.db.select().from(agreements).where(eq(agreements.id, id));
    const res = await a.get(`/acordos/${id}/comprovante`);
    expect(res.status).toBe(200);
    const text = textOf(res.text);
    expect(text).toContain(row!.termsHash);
    expect(text).toContain(row!.acceptedAt.toISOString());
    expect(text).toContain('horário de Brasília');
  });

  it('answers 404 for another debtor’s agreement', async () => {
    const p = await seedPortal(t, [{}]);
    const { id } = await makeAgreement(p, 1);
    const q = await seedPortal(t, [{}]);
    const b = await login(t, q);
    expect((await b.get(`/acordos/${id}`)).status).toBe(404);
    expect((await b.get(`/acordos/${id}/comprovante`)).status).toBe(404);
    expect((await b.get(`/acordos/${id}/pagar?parcela=1`)).status).toBe(404);
  });
});
