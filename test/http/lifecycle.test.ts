// The agreement lifecycle with a moved clock (CONTRACT §8): due soon, overdue, expiry (none
// while a payment is under way), breaking with pro-rata credit, and payments that arrive on
// an agreement no longer live.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agreementDebts, payments } from '../../src/db/schema/index.js';
import { addDays } from '../../src/lib/dates.js';
import { createLifecycleJob } from '../../src/modules/agreements/lifecycle.job.js';
import { Moment } from '../../src/modules/agreements/lifecycle.js';
import { lockPayment, markPaymentProcessing, openPayment, recordPaymentFailure, settlePayment } from '../../src/modules/payments/payments.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agreementRow, debtRows, eventsOf, makeAgreement, parcelRows, paymentRows, seedAgreement, seedPortal, simulatePayment, TODAY } from '../helpers/portal.js';

let t: TestApp;
const job = createLifecycleJob();
const tick = () => job.run({ database: t.database, clock: t.clock, config: t.config, log: t.app.log });
const at = (date: string) => t.clock.set(new Date(`${date}T12:00:00-03:00`));
const moment = () => Moment.of(t.clock, t.config.tzBusiness);

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());
beforeEach(() => at(TODAY));

const types = async (id: string) => (await eventsOf(t, id)).map((e) => e.type);

/** A payment of parcel 1 under way, as a Stripe boleto would leave it. */
async function paymentUnderWay(agreementId: string, creditorId: string) {
  const open = await openPayment(t.database.db, { agreementId, creditorId, target: { kind: 'parcel', parcelNumber: 1 }, method: 'boleto', provider: 'stripe', m: moment() });
  if (!open.ok) throw new Error(open.reason);
  await t.database.db.transaction(async (tx) => {
    const p = await lockPayment(tx, { id: open.payment.id });
    await markPaymentProcessing(tx, p!, { m: moment() });
  });
  return open.payment;
}

describe('parcel.due_soon and parcel.overdue', () => {
  it('announce a parcel 3 days before its due date and once it is late, each once', async () => {
    const p = await seedPortal(t, [{ amountCents: 90_000 }]);
    const { id } = await makeAgreement(t, p, 3, [0], addDays(TODAY, 7));
    await tick();
    expect(await types(id)).toEqual(['agreement.created']);

    at(addDays(TODAY, 3)); // 4 days before
    await tick();
    expect(await types(id)).toEqual(['agreement.created']);
    at(addDays(TODAY, 4)); // 3 days before
    await tick();
    await tick();
    at(addDays(TODAY, 6));
    await tick();
    expect(await types(id)).toEqual(['agreement.created', 'parcel.due_soon']);
    const [soon] = (await eventsOf(t, id)).filter((e) => e.type === 'parcel.due_soon');
    expect(soon!.data).toEqual({ agreement_id: id, parcel: { number: 1, due_date: addDays(TODAY, 7), amount_cents: expect.any(Number), status: 'pending', paid_at: null } });

    at(addDays(TODAY, 7)); // due today: not overdue yet
    await tick();
    expect((await parcelRows(t, id))[0]!.status).toBe('pending');
    at(addDays(TODAY, 8));
    await tick();
    await tick();
    expect((await parcelRows(t, id))[0]!.status).toBe('overdue');
    expect(await types(id)).toEqual(['agreement.created', 'parcel.due_soon', 'parcel.overdue']);
    const [late] = (await eventsOf(t, id)).filter((e) => e.type === 'parcel.overdue');
    expect(late!.data).toMatchObject({ agreement_id: id, parcel: { number: 1, status: 'overdue' } });
    expect((await agreementRow(t, id)).status).toBe('pending');
  });
});

describe('expiry', () => {
  it('expires a pending agreement whose parcel 1 is more than 3 days late: debts open, parcels cancelled', async () => {
    const { p, id } = await seedAgreement(t, 3, [{}, {}]);
    at(addDays(TODAY, 3));
    await tick();
    expect((await agreementRow(t, id)).status).toBe('pending');
    at(addDays(TODAY, 4));
    await tick();
    await tick();
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('expired');
    expect((await parcelRows(t, id)).map((x) => x.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect((await debtRows(t, p.debts.map((d) => d.id))).map((d) => [d.status, d.creditedCents])).toEqual([
      ['open', 0],
      ['open', 0],
    ]);
    const events = await eventsOf(t, id);
    expect(events.map((e) => e.type)).toEqual(['agreement.created', 'parcel.overdue', 'agreement.expired']);
    expect(events[2]!.data).toMatchObject({ id, status: 'expired', parcels: [{ status: 'cancelled' }, { status: 'cancelled' }, { status: 'cancelled' }] });
  });

  it('does not expire while a payment is processing; once it fails, the agreement expires', async () => {
    const { p, id } = await seedAgreement(t, 2);
    const payment = await paymentUnderWay(id, p.creditor.creditorId);
    at(addDays(TODAY, 10));
    await tick();
    expect((await agreementRow(t, id)).status).toBe('pending');
    expect((await parcelRows(t, id))[0]!.status).toBe('processing');
    expect(await types(id)).toEqual(['agreement.created']);

    await t.database.db.transaction(async (tx) => {
      const locked = await lockPayment(tx, { id: payment.id });
      await recordPaymentFailure(tx, locked!, { message: 'Boleto vencido sem pagamento.', m: moment() });
    });
    expect((await parcelRows(t, id))[0]!.status).toBe('overdue');
    await tick();
    expect((await agreementRow(t, id)).status).toBe('expired');
    expect(await types(id)).toEqual(['agreement.created', 'payment.failed', 'parcel.overdue', 'agreement.expired']);
  });

  it('credits a payment that succeeds after the agreement expired to its debts', async () => {
    const { p, id } = await seedAgreement(t, 1, [{ amountCents: 60_000 }, { amountCents: 40_000 }]);
    const open = await openPayment(t.database.db, { agreementId: id, creditorId: p.creditor.creditorId, target: { kind: 'parcel', parcelNumber: 1 }, method: 'pix', provider: 'stripe', m: moment() });
    if (!open.ok) throw new Error(open.reason);
    at(addDays(TODAY, 5));
    await tick();
    expect((await agreementRow(t, id)).status).toBe('expired');

    // the Pix code shown before the expiry is paid now
    const result = await t.database.db.transaction((tx) => settlePayment(tx, { locator: { id: open.payment.id }, amountCents: open.payment.amountCents, currency: 'brl', m: moment() }));
    expect(result.kind).toBe('settled');
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('expired');
    expect(agreement.paidCents).toBe(open.payment.amountCents);
    const links = await t.database.db.select().from(agreementDebts).where(eq(agreementDebts.agreementId, id));
    const principal = links.reduce((s, l) => s + l.principalCents, 0);
    const rows = await debtRows(t, p.debts.map((d) => d.id));
    const expected = links.map((l) => Math.round((open.payment.amountCents * l.principalCents) / principal));
    expect(rows.map((d) => d.creditedCents)).toEqual(expected);
    expect(rows.reduce((s, d) => s + d.creditedCents, 0)).toBe(open.payment.amountCents);
    expect(rows.map((d) => d.status)).toEqual(['open', 'open']);
    expect(await types(id)).toEqual(['agreement.created', 'parcel.overdue', 'agreement.expired', 'payment.succeeded']);
    expect((await paymentRows(t, id))[0]!.status).toBe('succeeded');
  });
});

describe('breaking', () => {
  it('breaks an active agreement with a parcel overdue more than break_after_days; what was paid is credited pro rata', async () => {
    // principals 100 000 and 33 333 (1 : 1/3): shares of what was paid round half away from zero
    const { p, a, id } = await seedAgreement(t, 3, [{ amountCents: 100_000 }, { amountCents: 33_333 }]);
    await simulatePayment(a, `/acordos/${id}/pagar?parcela=1`);
    const [first, second] = await parcelRows(t, id);
    const paid = first!.amountCents;
    expect((await agreementRow(t, id)).status).toBe('active');

    at(addDays(second!.dueDate, 30)); // 30 days late: not yet more than 30
    await tick();
    expect((await agreementRow(t, id)).status).toBe('active');
    // parcel 3 falls due a month after parcel 2: due tomorrow
    expect((await parcelRows(t, id)).map((x) => x.status)).toEqual(['paid', 'overdue', 'pending']);
    at(addDays(second!.dueDate, 31));
    await tick();
    await tick();
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('broken');
    expect((await parcelRows(t, id)).map((x) => x.status)).toEqual(['paid', 'cancelled', 'cancelled']);

    const links = await t.database.db.select().from(agreementDebts).where(eq(agreementDebts.agreementId, id));
    const [big, small] = [...links].sort((x, y) => y.principalCents - x.principalCents);
    const total = big!.principalCents + small!.principalCents;
    const smallShare = Math.round((paid * small!.principalCents) / total);
    const rows = await debtRows(t, p.debts.map((d) => d.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(small!.debtId)!.creditedCents).toBe(smallShare);
    expect(byId.get(big!.debtId)!.creditedCents).toBe(paid - smallShare); // the remainder goes to the largest
    expect(rows.map((r) => r.status)).toEqual(['open', 'open']);
    expect(await types(id)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated', 'parcel.overdue', 'parcel.due_soon', 'agreement.broken']);
    const broken = (await eventsOf(t, id)).at(-1)!;
    expect(broken.data).toMatchObject({ id, status: 'broken', paid_cents: paid });
  });

  it('settles a debt whose principal a late payment brings to 0', async () => {
    const { p, a, id } = await seedAgreement(t, 2, [{ amountCents: 50_000, daysOverdue: 60 }]);
    await simulatePayment(a, `/acordos/${id}/pagar?parcela=1`);
    const [, second] = await parcelRows(t, id);
    at(addDays(second!.dueDate, 31));
    await tick();
    expect((await agreementRow(t, id)).status).toBe('broken');
    const [afterBreak] = await debtRows(t, [p.debts[0]!.id]);
    expect(afterBreak!.status).toBe('open');
    expect(afterBreak!.creditedCents).toBe((await parcelRows(t, id))[0]!.amountCents);

    // parcel 2 arrives anyway (fine and interest included): more than what is left of the principal
    const late = await openLatePayment(id, p.creditor.creditorId, second!.amountCents);
    await t.database.db.transaction((tx) => settlePayment(tx, { locator: { id: late }, amountCents: second!.amountCents, currency: 'brl', m: moment() }));
    const [settled] = await debtRows(t, [p.debts[0]!.id]);
    expect(settled!.creditedCents).toBe(settled!.amountCents);
    expect(settled!.status).toBe('settled');
  });
});

/** A payment row for parcel 2 of an agreement no longer live (as a Stripe intent made before would be). */
async function openLatePayment(agreementId: string, creditorId: string, amountCents: number): Promise<string> {
  const id = crypto.randomUUID();
  await t.database.db.insert(payments).values({ id, creditorId, agreementId, kind: 'parcel', parcelNumber: 2, amountCents, method: 'pix', provider: 'stripe', status: 'pending' });
  return id;
}
