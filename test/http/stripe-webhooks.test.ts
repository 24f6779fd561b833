// POST /webhooks/stripe (CONTRACT §7), with events signed by the SDK's own
// generateTestHeaderString: the signature checked on the raw body, each event applied once,
// late or repeated events changing nothing twice.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeEvents } from '../../src/db/schema/index.js';
import { addDays } from '../../src/lib/dates.js';
import { createLifecycleJob } from '../../src/modules/agreements/lifecycle.job.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { startFakeStripe, type FakeIntent, type FakeStripe } from '../helpers/fake-stripe.js';
import { agreementRow, debtRows, eventsOf, hiddenFields, parcelRows, paymentRows, seedAgreement, textOf, TODAY } from '../helpers/portal.js';

const WEBHOOK_SECRET = 'whsec_test_secret_for_quita_webhooks';
let t: TestApp;
let fake: FakeStripe;

beforeAll(async () => {
  fake = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, now: () => t.clock.now().getTime() });
  t = await buildTestApp({ env: { STRIPE_SECRET_KEY: 'sk_test_quita', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.url } });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

function deliver(payload: string, signature?: string) {
  const req = t.request.post('/webhooks/stripe').set('content-type', 'application/json');
  return (signature === undefined ? req.set('stripe-signature', fake.sign(payload)) : signature === '' ? req : req.set('stripe-signature', signature)).send(payload);
}

/** An agreement with a Pix payment of parcel 1 started through the portal; returns its PaymentIntent. */
async function withPixPayment(n = 1, amountCents = 70_000) {
  const made = await seedAgreement(t, n, [{ amountCents }]);
  const page = await made.a.get(`/acordos/${made.id}/pagar?parcela=1`);
  const res = await made.a.post(`/acordos/${made.id}/pagamentos`).type('form').send(hiddenFields(page.text, 'pix'));
  expect(res.status).toBe(303);
  const [payment] = await paymentRows(t, made.id);
  const intent = fake.intents.get(payment!.providerRef!)!;
  return { ...made, payment: payment!, intent };
}

const paid = (intent: FakeIntent) => fake.update(intent.id, { status: 'succeeded', amount_received: intent.amount, next_action: null });
const typesOf = async (id: string) => (await eventsOf(t, id)).map((e) => e.type);

describe('POST /webhooks/stripe', () => {
  it('settles on payment_intent.succeeded: payment, parcel and agreement, each event emitted once', async () => {
    const { id, payment, intent } = await withPixPayment(1);
    const res = await deliver(fake.event('payment_intent.succeeded', paid(intent)));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true });
    const [row] = await paymentRows(t, id);
    expect(row).toMatchObject({ id: payment.id, status: 'succeeded', method: 'pix' });
    expect((await parcelRows(t, id))[0]!.status).toBe('paid');
    expect((await agreementRow(t, id)).status).toBe('completed');
    expect(await typesOf(id)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated', 'agreement.completed']);
  });

  it('applies the same event delivered ten times (some at once) exactly once', async () => {
    const { id, intent } = await withPixPayment(3);
    const payload = fake.event('payment_intent.succeeded', paid(intent));
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(payload)));
    for (let i = 0; i < 5; i++) answers.push(await deliver(payload));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await paymentRows(t, id)).map((p) => p.status)).toEqual(['succeeded']);
    expect((await parcelRows(t, id)).map((p) => p.status)).toEqual(['paid', 'pending', 'pending']);
    expect(await typesOf(id)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated']);
    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('active');
    expect(agreement.paidCents).toBe(intent.amount);
    // a second, distinct event for the same success changes nothing either
    await deliver(fake.event('payment_intent.succeeded', paid(intent)));
    expect((await agreementRow(t, id)).paidCents).toBe(intent.amount);
    expect((await typesOf(id)).filter((x) => x === 'payment.succeeded')).toHaveLength(1);
  });

  it('answers 400 and changes nothing for a bad, missing or stale signature, or a tampered body', async () => {
    const { id, intent } = await withPixPayment(1);
    const payload = fake.event('payment_intent.succeeded', paid(intent));
    const eventId = (JSON.parse(payload) as { id: string }).id;
    const attempts = [
      await deliver(payload, fake.sign(payload, { secret: 'whsec_someone_else' })),
      await deliver(payload, ''),
      await deliver(payload, 't=1,v1=deadbeef'),
      await deliver(payload, fake.sign(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 })),
      await deliver(payload.replace(`"amount_received":${intent.amount}`, `"amount_received":${intent.amount + 1}`), fake.sign(payload)),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect((await paymentRows(t, id))[0]!.status).toBe('pending');
    expect((await agreementRow(t, id)).status).toBe('pending');
    expect(await t.database.db.select().from(stripeEvents).where(eq(stripeEvents.id, eventId))).toEqual([]);
    expect(await typesOf(id)).toEqual(['agreement.created']);
    // the genuine delivery still works afterwards
    expect((await deliver(payload)).status).toBe(200);
    expect((await agreementRow(t, id)).status).toBe('completed');
  });

  it('records payment_intent.payment_failed once (payment.failed); the parcel stays payable and a new attempt makes a new intent', async () => {
    const { a, id, payment, intent } = await withPixPayment(2);
    const failed = fake.update(intent.id, { status: 'requires_payment_method', next_action: null, last_payment_error: { message: 'O código Pix expirou sem pagamento.', type: 'invalid_request_error' } });
    const payload = fake.event('payment_intent.payment_failed', failed);
    expect((await deliver(payload)).status).toBe(200);
    expect((await deliver(fake.event('payment_intent.payment_failed', failed))).status).toBe(200);
    const [row] = await paymentRows(t, id);
    expect(row).toMatchObject({ id: payment.id, status: 'failed', failureMessage: 'O código Pix expirou sem pagamento.' });
    const events = await eventsOf(t, id);
    expect(events.map((e) => e.type)).toEqual(['agreement.created', 'payment.failed']);
    expect(events[1]!.data).toMatchObject({ id: payment.id, status: 'failed', failure_message: 'O código Pix expirou sem pagamento.', paid_at: null, method: 'pix', parcel_number: 1 });
    expect((await parcelRows(t, id))[0]!.status).toBe('pending');
    expect(textOf((await a.get(`/acordos/${id}/pagamentos/${payment.id}`)).text)).toContain('O pagamento não foi concluído');

    const page = await a.get(`/acordos/${id}/pagar?parcela=1`);
    await a.post(`/acordos/${id}/pagamentos`).type('form').send(hiddenFields(page.text, 'pix'));
    const rows = await paymentRows(t, id);
    expect(rows.map((r) => r.status)).toEqual(['failed', 'pending']);
    expect(rows[1]!.providerRef).not.toBe(intent.id);
  });

  it('keeps a payment paid when processing arrives after succeeded (out of order)', async () => {
    const { id, intent } = await withPixPayment(2);
    const created = Math.floor(t.clock.now().getTime() / 1000);
    const processing = fake.event('payment_intent.processing', { ...intent, status: 'processing' }, { created: created - 5 });
    const succeeded = fake.event('payment_intent.succeeded', paid(intent), { created });
    expect((await deliver(succeeded)).status).toBe(200);
    expect((await deliver(processing)).status).toBe(200);
    expect((await paymentRows(t, id)).map((p) => p.status)).toEqual(['succeeded']);
    expect((await parcelRows(t, id)).map((p) => p.status)).toEqual(['paid', 'pending']);
    expect(await typesOf(id)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated']);
  });

  it('marks the parcel processing on payment_intent.processing, and paid on the success that follows', async () => {
    const { a, id, intent } = await withPixPayment(2);
    const created = Math.floor(t.clock.now().getTime() / 1000);
    expect((await deliver(fake.event('payment_intent.processing', fake.update(intent.id, { status: 'processing' }), { created }))).status).toBe(200);
    expect((await paymentRows(t, id))[0]!.status).toBe('processing');
    expect((await parcelRows(t, id)).map((p) => p.status)).toEqual(['processing', 'pending']);
    const page = await a.get(`/acordos/${id}`);
    expect(textOf(page.text)).toContain('em processamento');
    expect(page.text).not.toContain(`/acordos/${id}/pagar?parcela=1"`);
    // a failure older than the processing is ignored
    const stale = fake.event('payment_intent.payment_failed', { ...intent, status: 'requires_payment_method', last_payment_error: { message: 'old' } }, { created: created - 10 });
    expect((await deliver(stale)).status).toBe(200);
    expect((await paymentRows(t, id))[0]!.status).toBe('processing');
    expect((await deliver(fake.event('payment_intent.succeeded', paid(intent), { created: created + 1 }))).status).toBe(200);
    expect((await parcelRows(t, id)).map((p) => p.status)).toEqual(['paid', 'pending']);
    expect(await typesOf(id)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated']);
  });

  it('treats a boleto awaiting payment (requires_action) as processing; its expiry (payment_failed) makes the parcel payable again', async () => {
    const { id, intent } = await withPixPayment(2);
    const created = Math.floor(t.clock.now().getTime() / 1000);
    const boleto = fake.update(intent.id, {
      status: 'requires_action',
      next_action: { type: 'boleto_display_details', boleto_display_details: { number: '23790000000000000000000000000000000000000000000', hosted_voucher_url: 'https://payments.stripe.com/boleto/x', pdf: null, expires_at: created + 3 * 86400 } },
    });
    expect((await deliver(fake.event('payment_intent.requires_action', boleto, { created }))).status).toBe(200);
    const [row] = await paymentRows(t, id);
    expect(row).toMatchObject({ status: 'processing', method: 'boleto' });
    expect(row!.display?.boleto?.number).toBe('23790000000000000000000000000000000000000000000');
    expect((await parcelRows(t, id))[0]!.status).toBe('processing');
    const expired = fake.update(intent.id, { status: 'requires_payment_method', next_action: null, last_payment_error: { message: 'Boleto vencido.' } });
    expect((await deliver(fake.event('payment_intent.payment_failed', expired, { created: created + 60 }))).status).toBe(200);
    expect((await parcelRows(t, id))[0]!.status).toBe('pending');
    expect(await typesOf(id)).toEqual(['agreement.created', 'payment.failed']);
  });

  it('does not settle when the amount or currency differs from the payment', async () => {
    const { id, intent } = await withPixPayment(1);
    expect((await deliver(fake.event('payment_intent.succeeded', { ...intent, status: 'succeeded', amount_received: intent.amount - 1 }))).status).toBe(200);
    expect((await deliver(fake.event('payment_intent.succeeded', { ...intent, status: 'succeeded', amount_received: intent.amount, currency: 'usd' }))).status).toBe(200);
    expect((await paymentRows(t, id))[0]!.status).toBe('pending');
    expect(await typesOf(id)).toEqual(['agreement.created']);
  });

  it('acknowledges unknown event types and intents that are not ours, changing nothing', async () => {
    const { id, intent } = await withPixPayment(1);
    expect((await deliver(fake.event('charge.succeeded', { ...intent, id: 'ch_123', object: 'charge' } as FakeIntent))).status).toBe(200);
    expect((await deliver(fake.event('payment_intent.succeeded', { ...intent, id: 'pi_not_ours', status: 'succeeded', amount_received: intent.amount, metadata: {} }))).status).toBe(200);
    expect((await paymentRows(t, id))[0]!.status).toBe('pending');
    expect(await typesOf(id)).toEqual(['agreement.created']);
  });

  it('credits a payment that succeeds on an expired agreement to its debts', async () => {
    const { p, id, intent } = await withPixPayment(1, 50_000);
    t.clock.set(new Date(`${addDays(TODAY, 5)}T12:00:00-03:00`));
    try {
      await createLifecycleJob().run({ database: t.database, clock: t.clock, config: t.config, log: t.app.log });
      expect((await agreementRow(t, id)).status).toBe('expired');
      expect((await deliver(fake.event('payment_intent.succeeded', paid(intent)))).status).toBe(200);
      const agreement = await agreementRow(t, id);
      expect(agreement.status).toBe('expired');
      expect(agreement.paidCents).toBe(intent.amount);
      const [debt] = await debtRows(t, [p.debts[0]!.id]);
      expect(debt).toMatchObject({ status: 'open', creditedCents: intent.amount });
      expect(await typesOf(id)).toEqual(['agreement.created', 'parcel.overdue', 'agreement.expired', 'payment.succeeded']);
    } finally {
      t.clock.set(new Date(`${TODAY}T12:00:00-03:00`));
    }
  });

  it('keeps each event id once in stripe_events', async () => {
    const rows = await t.database.db.execute(sql`SELECT id, count(*)::int AS n FROM stripe_events GROUP BY id HAVING count(*) > 1`);
    expect((rows as unknown as { rows: unknown[] }).rows).toEqual([]);
  });
});
