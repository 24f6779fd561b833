// Quitar antecipado (CONTRACT §7): one payment of the present value of every unpaid parcel,
// which settles them all.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { calendarDaysBetween } from '../../src/lib/dates.js';
import { formatBRL } from '../../src/lib/money.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agreementRow, eventsOf, login, parcelRows, paymentRows, seedAgreement, simulatePayment, textOf, TODAY } from '../helpers/portal.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());
beforeEach(() => t.clock.set(new Date('2026-11-23T12:00:00-03:00')));

/** Σ amount / 1.01^(max(0, days)/30), by hand (floating point is fine this far from a half centavo). */
function byHand(parcels: { amountCents: number; dueDate: string }[], today: string, ratePct = 1): number {
  const sum = parcels.reduce((s, p) => s + p.amountCents / Math.pow(1 + ratePct / 100, Math.max(0, calendarDaysBetween(today, p.dueDate)) / 30), 0);
  return Math.round(sum);
}

describe('Quitar antecipado', () => {
  it('shows the present value of the unpaid parcels and settles them all with one payment', async () => {
    const { a, id, page } = await seedAgreement(t, 6, [{ amountCents: 300_000, daysOverdue: 20 }]);
    const parcels = await parcelRows(t, id);
    const expected = byHand(parcels, TODAY);
    const nominal = parcels.reduce((s, p) => s + p.amountCents, 0);
    expect(expected).toBeLessThan(nominal);

    const res = await a.get(`/acordos/${id}/quitar`);
    expect(res.status).toBe(200);
    const text = textOf(res.text);
    expect(text).toContain(`Valor a pagar: ${formatBRL(expected).replace('\u00a0', ' ')}`);
    expect(text).toContain('art. 52');

    expect((await simulatePayment(a, `/acordos/${id}/quitar`)).status).toBe(303);
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('completed');
    expect(agreement.paidCents).toBe(expected);
    expect((await parcelRows(t, id)).every((p) => p.status === 'paid' && p.paidAt !== null)).toBe(true);
    const payments = await paymentRows(t, id);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ kind: 'payoff', parcelNumber: null, amountCents: expected, status: 'succeeded' });
    const events = await eventsOf(t, id);
    expect(events.map((e) => e.type)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated', 'agreement.completed']);
    expect(events[1]!.data).toMatchObject({ parcel_number: null, amount_cents: expected, method: 'sandbox' });
    expect(textOf((await a.get(page)).text)).toContain('Dívida quitada');
  });

  it('after some parcels, pays off what remains at that day’s present value', async () => {
    const { p, a: first, id } = await seedAgreement(t, 4, [{ amountCents: 400_000 }]);
    await simulatePayment(first, `/acordos/${id}/pagar?parcela=1`);
    expect((await agreementRow(t, id)).status).toBe('active');
    // 40 days later: parcel 2 is overdue (not discounted), parcels 3 and 4 are discounted pro rata
    t.clock.set(new Date('2027-01-02T10:00:00-03:00'));
    const a = await login(t, p);
    const parcels = await parcelRows(t, id);
    const expected = byHand(parcels.filter((p) => p.status !== 'paid'), '2027-01-02');
    const res = await a.get(`/acordos/${id}/quitar`);
    expect(textOf(res.text)).toContain(formatBRL(expected).replace('\u00a0', ' '));
    await simulatePayment(a, `/acordos/${id}/quitar`);
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('completed');
    expect(agreement.paidCents).toBe(parcels[0]!.amountCents + expected);
    const payments = await paymentRows(t, id);
    expect(payments.map((p) => [p.kind, p.amountCents])).toEqual([
      ['parcel', parcels[0]!.amountCents],
      ['payoff', expected],
    ]);
  });

  it('refuses a payoff whose amount changed since the page was shown (past midnight), showing the new amount', async () => {
    t.clock.set(new Date('2026-11-23T23:58:00-03:00'));
    const { a, id } = await seedAgreement(t, 3, [{ amountCents: 300_000 }]);
    const page = await a.get(`/acordos/${id}/quitar`);
    const form = /name="valor" value="(\d+)"/.exec(page.text)![1]!;
    t.clock.set(new Date('2026-11-24T00:01:00-03:00'));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const res = await a.post(`/acordos/${id}/pagamentos`).type('form').send({ _csrf: csrf, alvo: 'quitacao', parcela: '', valor: form, metodo: 'sandbox' });
    expect(res.status).toBe(409);
    expect(textOf(res.text)).toContain('O valor foi atualizado');
    expect(await paymentRows(t, id)).toEqual([]);
  });
});
