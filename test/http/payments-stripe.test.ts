// The Stripe provider against a local fake Stripe API driven by the real SDK (CONTRACT §7):
// one PaymentIntent per payment, in BRL, with our own idempotency key; Pix and boleto
// confirmed server-side; card through the Payment Element; boleto only within its range.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { PIX_DATA, startFakeStripe, type FakeStripe } from '../helpers/fake-stripe.js';
import { csrfOf, hiddenFields, parcelRows, paymentRows, seedAgreement, textOf } from '../helpers/portal.js';

const WEBHOOK_SECRET = 'whsec_test_secret_for_quita_payments';
let t: TestApp;
let fake: FakeStripe;

beforeAll(async () => {
  fake = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, now: () => t.clock.now().getTime() });
  t = await buildTestApp({
    env: { STRIPE_SECRET_KEY: 'sk_test_quita', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.url, STRIPE_PUBLISHABLE_KEY: 'pk_test_quita' },
  });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

type Agent = Awaited<ReturnType<typeof seedAgreement>>['a'];

/** Presses one of the payment page's buttons (a POST form) and returns the answer. */
async function press(a: Agent, path: string, method: 'pix' | 'card') {
  const page = await a.get(path);
  expect(page.status).toBe(200);
  const form = hiddenFields(page.text, method);
  return { res: await a.post(form.alvo === 'quitacao' ? path.replace('/quitar', '/pagamentos') : `${path.split('/pagar')[0]}/pagamentos`).type('form').send(form), form };
}

describe('the Stripe payment page', () => {
  it('offers Pagar com Pix, Pagar com boleto and Pagar com cartão, and no sandbox', async () => {
    const { a, id } = await seedAgreement(t, 3, [{ amountCents: 120_000 }]);
    const res = await a.get(`/acordos/${id}/pagar?parcela=1`);
    expect(res.status).toBe(200);
    for (const label of ['Pagar com Pix', 'Pagar com boleto', 'Pagar com cartão']) expect(res.text).toContain(`<button type="submit">${label}</button>`);
    expect(res.text).not.toContain('Simular pagamento');
    expect(fake.creates()).toHaveLength(0); // showing the page makes no intent
  });

  it('Pix: one PaymentIntent in BRL with our idempotency key, confirmed with payment_method_data[type]=pix, its QR and copy-paste code shown', async () => {
    const before = fake.creates().length;
    const { a, id } = await seedAgreement(t, 3, [{ amountCents: 120_000 }]);
    const [parcel] = await parcelRows(t, id);
    const { res } = await press(a, `/acordos/${id}/pagar?parcela=1`, 'pix');
    expect(res.status).toBe(303);
    const [payment] = await paymentRows(t, id);
    expect(res.headers.location).toBe(`/acordos/${id}/pagamentos/${payment!.id}`);

    const creates = fake.creates().slice(before);
    expect(creates).toHaveLength(1);
    expect(creates[0]!.idempotencyKey).toBe(`quita-payment-${payment!.id}`);
    expect(creates[0]!.authorization).toBe('Bearer sk_test_quita');
    expect(creates[0]!.body).toMatchObject({
      amount: String(parcel!.amountCents),
      currency: 'brl',
      allowed_payment_method_types: ['pix', 'boleto', 'card'],
      metadata: { quita_payment_id: payment!.id, quita_agreement_id: id },
    });
    const intentId = payment!.providerRef!;
    expect(fake.intents.get(intentId)!.amount).toBe(parcel!.amountCents);
    const confirm = fake.confirms().at(-1)!;
    expect(confirm.path).toBe(`/v1/payment_intents/${intentId}/confirm`);
    expect(confirm.body).toEqual({ payment_method_data: { type: 'pix' } });
    expect(confirm.idempotencyKey).toBe(`quita-payment-${payment!.id}-pix`);
    expect(payment).toMatchObject({ method: 'pix', provider: 'stripe', status: 'pending', amountCents: parcel!.amountCents });

    const shown = await a.get(res.headers.location as string);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain(`id="pix-code" readonly value="${PIX_DATA}"`);
    expect(shown.text).toMatch(/<img src="data:image\/png;base64,/);
    expect(textOf(shown.text)).toContain('Válido até');

    // a reload, and the same button pressed again, make no second intent nor a second confirmation
    const confirmsBefore = fake.confirms().length;
    await a.get(res.headers.location as string);
    const again = await press(a, `/acordos/${id}/pagar?parcela=1`, 'pix');
    expect(again.res.headers.location).toBe(res.headers.location);
    expect(fake.creates().slice(before)).toHaveLength(1);
    expect(fake.confirms().length).toBe(confirmsBefore);
    expect(await paymentRows(t, id)).toHaveLength(1);
    // the agreement page points at the Pix code still valid
    const agreementPage = await a.get(`/acordos/${id}`);
    expect(agreementPage.text).toContain(`/acordos/${id}/pagamentos/${payment!.id}`);
  });

  it('a create whose answer was lost is retried with the same key: one intent', async () => {
    const { a, id } = await seedAgreement(t, 2, [{ amountCents: 80_000 }]);
    const before = fake.creates().length;
    const intentsBefore = fake.intents.size;
    fake.dropResponses(1);
    const { res } = await press(a, `/acordos/${id}/pagar?parcela=1`, 'card');
    expect(res.status).toBe(303);
    const creates = fake.creates().slice(before);
    expect(creates.length).toBe(2);
    expect(new Set(creates.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(fake.intents.size).toBe(intentsBefore + 1);
    const [payment] = await paymentRows(t, id);
    expect(fake.intents.has(payment!.providerRef!)).toBe(true);
  });

  it('a failed create leaves the payment to be resumed with the same key: one intent', async () => {
    const { a, id } = await seedAgreement(t, 2, [{ amountCents: 80_000 }]);
    const before = fake.creates().length;
    fake.failRequests(3); // more than the SDK's retries
    const first = await press(a, `/acordos/${id}/pagar?parcela=1`, 'pix');
    expect(first.res.status).toBe(502);
    expect(textOf(first.res.text)).toContain('Nada foi cobrado');
    const second = await press(a, `/acordos/${id}/pagar?parcela=1`, 'pix');
    expect(second.res.status).toBe(303);
    const payments = await paymentRows(t, id);
    expect(payments).toHaveLength(1);
    const keys = new Set(fake.creates().slice(before).map((c) => c.idempotencyKey));
    expect([...keys]).toEqual([`quita-payment-${payments[0]!.id}`]);
    expect([...fake.intents.values()].filter((i) => i.metadata.quita_payment_id === payments[0]!.id)).toHaveLength(1);
  });

  it('card: the Payment Element gets the client secret and the publishable key', async () => {
    const { a, id } = await seedAgreement(t, 2, [{ amountCents: 80_000 }]);
    const { res } = await press(a, `/acordos/${id}/pagar?parcela=1`, 'card');
    expect(res.status).toBe(303);
    const page = await a.get(res.headers.location as string);
    const [payment] = await paymentRows(t, id);
    const intent = fake.intents.get(payment!.providerRef!)!;
    expect(payment!.method).toBe('card');
    expect(page.text).toContain(`data-key="pk_test_quita"`);
    expect(page.text).toContain(`data-secret="${String(intent.client_secret)}"`);
    expect(page.text).toContain('<script src="https://js.stripe.com/v3/"></script>');
    expect(page.text).toContain('<script src="/static/pagamento-cartao.js" defer></script>');
    expect(page.text).toContain(`data-return-url="http://quita.test/acordos/${id}/pagamentos/${payment!.id}"`);
    const script = await a.get('/static/pagamento-cartao.js');
    expect(script.status).toBe(200);
    expect(script.text).toContain('confirmPayment');
    // back from Stripe with the card paid: settled through the same path, without waiting for the webhook
    fake.update(intent.id, { status: 'succeeded', amount_received: intent.amount });
    const back = await a.get(`${res.headers.location as string}?payment_intent=${intent.id}&redirect_status=succeeded`);
    expect(textOf(back.text)).toContain('Pagamento confirmado');
    expect((await paymentRows(t, id))[0]!.status).toBe('succeeded');
    expect((await parcelRows(t, id))[0]!.status).toBe('paid');
  });
});

describe('boleto', () => {
  it('asks for the address (and the e-mail the creditor did not send), confirms with the CPF as tax_id, shows the number and voucher', async () => {
    const { p, a, id } = await seedAgreement(t, 2, [{ amountCents: 90_000 }]);
    const page = await a.get(`/acordos/${id}/pagar?parcela=1&metodo=boleto`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="email"');
    expect(page.text).toContain('id="cep"');
    const form = { ...hiddenFields(page.text, 'boleto'), _csrf: csrfOf(page.text) };

    const bad = await a.post(`/acordos/${id}/pagamentos`).type('form').send({ ...form, email: 'maria@example.com', cep: '123', endereco: 'Rua A, 10', cidade: 'Campinas', uf: 'SP' });
    expect(bad.status).toBe(422);
    expect(textOf(bad.text)).toContain('CEP com 8 dígitos');
    expect(await paymentRows(t, id)).toEqual([]);

    const before = fake.confirms().length;
    const ok = await a.post(`/acordos/${id}/pagamentos`).type('form').send({ ...form, email: 'maria@example.com', cep: '13015-904', endereco: 'Rua Barão de Jaguara, 1000', cidade: 'Campinas', uf: 'sp' });
    expect(ok.status).toBe(303);
    const confirm = fake.confirms().slice(before)[0]!;
    expect(confirm.body).toEqual({
      payment_method_data: {
        type: 'boleto',
        boleto: { tax_id: p.cpf },
        billing_details: {
          name: 'Maria da Silva',
          email: 'maria@example.com',
          address: { line1: 'Rua Barão de Jaguara, 1000', city: 'Campinas', state: 'SP', postal_code: '13015904', country: 'BR' },
        },
      },
    });
    const [payment] = await paymentRows(t, id);
    expect(payment).toMatchObject({ method: 'boleto', status: 'processing' });
    expect((await parcelRows(t, id))[0]!.status).toBe('processing');
    const shown = textOf((await a.get(ok.headers.location as string)).text);
    expect(shown).toContain('01010101010101010101010101010101010101010101010');
    expect((await a.get(ok.headers.location as string)).text).toContain('href="https://payments.stripe.com/boleto/voucher/fake"');
    // while it clears, Pagar is not offered and the agreement page says a boleto awaits
    const agreement = await a.get(`/acordos/${id}`);
    expect(agreement.text).not.toContain(`/acordos/${id}/pagar?parcela=1"`);
    expect(textOf(agreement.text)).toContain('Boleto');
  });

  it('is not offered below R$ 5,00 nor above R$ 49.999,99, and the intent does not allow it', async () => {
    for (const amountCents of [450, 6_000_000]) {
      const { a, id } = await seedAgreement(t, 1, [{ amountCents, daysOverdue: 10 }]);
      const res = await a.get(`/acordos/${id}/pagar?parcela=1`);
      expect(res.text).not.toContain('Pagar com boleto');
      expect(textOf(res.text)).toContain('Boleto disponível só para valores entre R$ 5,00 e R$ 49.999,99');
      expect((await a.get(`/acordos/${id}/pagar?parcela=1&metodo=boleto`)).status).toBe(303);
      const before = fake.creates().length;
      await press(a, `/acordos/${id}/pagar?parcela=1`, 'pix');
      expect(fake.creates()[before]!.body.allowed_payment_method_types).toEqual(['pix', 'card']);
    }
  });
});
