// A debtor with a confirmed agreement, through the real portal: login, offers, Escolher, Confirmar acordo.
import { asc, eq, sql } from 'drizzle-orm';
import type supertest from 'supertest';
import { expect } from 'vitest';
import { agreements, debts, parcels, payments } from '../../src/db/schema/index.js';
import { chooseAndConfirm, csrfOf, login, offersPage, seedPortal, type DebtSpec, type Portal } from '../http/portal-helpers.js';
import type { TestApp } from './app.js';

export { csrfOf, login, newCpf, seedPortal, textOf, TODAY, type Portal } from '../http/portal-helpers.js';

export interface MadeAgreement {
  a: supertest.Agent;
  id: string;
  page: string;
}

/** An agreement on the chosen debts, on the plan with `n` parcels (1 = cash), first due date `firstDue` (default today). */
export async function makeAgreement(t: TestApp, p: Portal, n = 3, debtIndexes = [0], firstDue?: string): Promise<MadeAgreement> {
  const a = await login(t, p);
  const { offers } = await offersPage(a, debtIndexes.map((i) => p.debts[i]!.id), firstDue);
  const offer = n === 1 ? offers[0]! : offers.find((o) => o.title.startsWith(`${n}\u00d7`));
  expect(offer, `no ${n}-parcel offer`).toBeDefined();
  const done = await chooseAndConfirm(a, offer!);
  expect(done.status).toBe(303);
  const page = done.headers.location as string;
  return { a, id: page.split('/').pop()!, page };
}

/** A creditor, a debtor with these debts, and an agreement on all of them. */
export async function seedAgreement(t: TestApp, n: number, specs: DebtSpec[] = [{}], creditorOverrides: Record<string, unknown> = {}) {
  const p = await seedPortal(t, specs, creditorOverrides);
  const made = await makeAgreement(t, p, n, specs.map((_, i) => i));
  return { p, ...made };
}

export async function agreementRow(t: TestApp, id: string) {
  const [row] = await t.database.db.select().from(agreements).where(eq(agreements.id, id));
  return row!;
}

export async function parcelRows(t: TestApp, id: string) {
  return t.database.db.select().from(parcels).where(eq(parcels.agreementId, id)).orderBy(asc(parcels.number));
}

export async function paymentRows(t: TestApp, agreementId: string) {
  return t.database.db.select().from(payments).where(eq(payments.agreementId, agreementId)).orderBy(asc(payments.createdAt));
}

export async function debtRows(t: TestApp, ids: number[]) {
  const rows = await t.database.db.select().from(debts).where(sql`${debts.id} IN (${sql.join(ids.map((i) => sql`${i}`), sql`, `)})`).orderBy(asc(debts.id));
  return rows;
}

/** Webhook events about one agreement (agreement.* by data.id; payment.* and parcel.* by data.agreement_id), oldest first. */
export async function eventsOf(t: TestApp, agreementId: string): Promise<{ type: string; data: Record<string, unknown>; created_at: Date }[]> {
  const result = await t.database.db.execute(sql`
    SELECT type, data, created_at FROM webhook_events
    WHERE data->>'id' = ${agreementId} OR data->>'agreement_id' = ${agreementId}
    ORDER BY created_at, id`);
  return (result as unknown as { rows: { type: string; data: unknown; created_at: Date | string }[] }).rows.map((r) => ({
    type: r.type,
    data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
    created_at: new Date(r.created_at),
  }));
}

/** Opens the payment page and presses Simular pagamento (sandbox). */
export async function simulatePayment(a: supertest.Agent, path: string) {
  const page = await a.get(path);
  expect(page.status, page.text.slice(0, 500)).toBe(200);
  const form = hiddenFields(page.text, 'sandbox');
  return a.post(`/acordos/${path.split('/')[2]}/pagamentos`).type('form').send({ ...form, _csrf: csrfOf(page.text) });
}

/** The hidden fields of the payment form whose `metodo` is `method`. */
export function hiddenFields(html: string, method: string): Record<string, string> {
  for (const m of html.matchAll(/<form method="post" action="[^"]*\/pagamentos"[^>]*>([\s\S]*?)<\/form>/g)) {
    const fields: Record<string, string> = {};
    for (const f of m[1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[f[1]!] = f[2]!;
    if (fields.metodo === method) return fields;
  }
  throw new Error(`no ${method} payment form on the page`);
}
