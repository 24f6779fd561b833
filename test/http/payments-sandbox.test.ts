// The sandbox provider (CONTRACT §7): the payment page shows the amount, a valid Pix code for
// the creditor with its QR image, and Simular pagamento settles through the real settle path.
import { eq, sql } from 'drizzle-orm';
import { parsePix, hasError } from 'pix-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debts } from '../../src/db/schema/index.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agreementRow, csrfOf, eventsOf, hiddenFields, parcelRows, paymentRows, seedAgreement, simulatePayment, textOf } from '../helpers/portal.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

/** CRC16-CCITT (poly 0x1021, init 0xFFFF), as the BR Code's field 63 carries it. */
function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

function pixCodeOf(html: string): string {
  const m = /id="pix-code" readonly value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no Pix code on the page');
  return m[1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
}

describe('the sandbox payment page', () => {
  it('shows the amount, a valid Pix BR Code for the creditor with its QR image, and Simular pagamento', async () => {
    const { a, id } = await seedAgreement(t, 3, [{ amountCents: 150_000 }], { name: 'Escola São João Ltda', pix_key: 'financeiro@escola.example.com' });
    const [first] = await parcelRows(t, id);
    const res = await a.get(`/acordos/${id}/pagar?parcela=1`);
    expect(res.status).toBe(200);
    const text = textOf(res.text);
    expect(text).toContain(`R$ ${(first!.amountCents / 100).toFixed(2).replace('.', ',')}`.replace(/(\d)(?=(\d{3})+,)/g, '$1.'));
    expect(res.text).toMatch(/<button type="submit">Simular pagamento<\/button>/);
    expect(res.text).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/]+(=|&#x3D;)*" alt="QR Code Pix/);
    expect(text).toMatch(/CNPJ \d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}/);

    const code = pixCodeOf(res.text);
    expect(code.slice(-4)).toBe(crc16(code.slice(0, -4)));
    const pix = parsePix(code);
    expect(hasError(pix)).toBe(false);
    if (hasError(pix) || pix.type !== 'STATIC') throw new Error('not a static Pix');
    expect(pix.pixKey).toBe('financeiro@escola.example.com');
    expect(pix.merchantName).toBe('ESCOLA SAO JOAO LTDA');
    expect(pix.merchantCity).toBe('SAO PAULO');
    expect(Math.round((pix.transactionAmount ?? 0) * 100)).toBe(first!.amountCents);
  });

  it('says so when the creditor has no Pix key, and still lets the payment be simulated', async () => {
    const { a, id } = await seedAgreement(t, 1, [{}], { pix_key: undefined });
    const res = await a.get(`/acordos/${id}/pagar?parcela=1`);
    expect(res.status).toBe(200);
    expect(textOf(res.text)).toContain('não cadastrou uma chave Pix');
    expect(res.text).not.toContain('id="pix-code"');
    const paid = await simulatePayment(a, `/acordos/${id}/pagar?parcela=1`);
    expect(paid.status).toBe(303);
    expect((await agreementRow(t, id)).status).toBe('completed');
  });

  it('refuses a post without a CSRF token', async () => {
    const { a, id } = await seedAgreement(t, 1);
    const page = await a.get(`/acordos/${id}/pagar?parcela=1`);
    const form = hiddenFields(page.text, 'sandbox');
    delete form._csrf;
    const res = await a.post(`/acordos/${id}/pagamentos`).type('form').send(form);
    expect(res.status).toBe(403);
    expect(await paymentRows(t, id)).toEqual([]);
  });
});

describe('Simular pagamento', () => {
  it('settles a cash agreement in one transaction: payment.succeeded, agreement.activated, agreement.completed; debts settled', async () => {
    const { p, a, id, page } = await seedAgreement(t, 1, [{ amountCents: 80_000 }, { amountCents: 20_000, daysOverdue: 200 }]);
    const res = await simulatePayment(a, `/acordos/${id}/pagar?parcela=1`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(page);

    const agreement = await agreementRow(t, id);
    expect(agreement.status).toBe('completed');
    expect(agreement.paidCents).toBe(agreement.totalCents);
    const [parcel] = await parcelRows(t, id);
    expect(parcel!.status).toBe('paid');
    expect(parcel!.paidAt).not.toBeNull();
    const [payment, ...more] = await paymentRows(t, id);
    expect(more).toEqual([]);
    expect(payment).toMatchObject({ kind: 'parcel', parcelNumber: 1, method: 'sandbox', provider: 'sandbox', status: 'succeeded', amountCents: agreement.totalCents });
    for (const d of p.debts) {
      const [row] = await t.database.db.select({ status: debts.status }).from(debts).where(eq(debts.id, d.id));
      expect(row!.status).toBe('settled');
    }

    const events = await eventsOf(t, id);
    expect(events.map((e) => e.type)).toEqual(['agreement.created', 'payment.succeeded', 'agreement.activated', 'agreement.completed']);
    expect(events[1]!.data).toEqual({
      id: payment!.id,
      agreement_id: id,
      parcel_number: 1,
      amount_cents: agreement.totalCents,
      method: 'sandbox',
      status: 'succeeded',
      created_at: payment!.createdAt.toISOString(),
      paid_at: payment!.paidAt!.toISOString(),
      failure_message: null,
    });
    expect(events[2]!.data).toMatchObject({ id, status: 'active', paid_cents: agreement.totalCents });
    expect(events[3]!.data).toMatchObject({ id, status: 'completed', parcels: [{ number: 1, status: 'paid' }] });
    // one transaction: the three rows share the transaction id that wrote them
    const xmins = (await t.database.db.execute(sql`SELECT DISTINCT xmin::text AS x FROM webhook_events WHERE type <> 'agreement.created' AND (data->>'id' = ${id} OR data->>'agreement_id' = ${id})`)) as unknown as { rows: unknown[] };
    expect(xmins.rows).toHaveLength(1);

    const done = textOf((await a.get(page)).text);
    expect(done).toContain('Dívida quitada');
    expect(done).toContain('5 dias úteis');
  });

  it('pressed twice (a double click, a resubmitted form) makes one payment', async () => {
    const { a, id } = await seedAgreement(t, 2);
    const page = await a.get(`/acordos/${id}/pagar?parcela=1`);
    const form = { ...hiddenFields(page.text, 'sandbox'), _csrf: csrfOf(page.text) };
    const [one, two] = await Promise.all([
      a.post(`/acordos/${id}/pagamentos`).type('form').send(form),
      a.post(`/acordos/${id}/pagamentos`).type('form').send(form),
    ]);
    expect([one.status, two.status]).toEqual([303, 303]);
    const three = await a.post(`/acordos/${id}/pagamentos`).type('form').send(form);
    expect(three.status).toBe(303);
    const rows = await paymentRows(t, id);
    expect(rows.map((r) => r.status)).toEqual(['succeeded']);
    expect((await parcelRows(t, id)).map((x) => x.status)).toEqual(['paid', 'pending']);
    const events = (await eventsOf(t, id)).map((e) => e.type);
    expect(events.filter((e) => e === 'payment.succeeded')).toHaveLength(1);
    expect(events.filter((e) => e === 'agreement.activated')).toHaveLength(1);
  });

  it('pays an installment plan parcel by parcel: active after parcel 1 (the creditor is told), completed after the last', async () => {
    const { p, a, id, page } = await seedAgreement(t, 3, [{ amountCents: 200_000 }]);
    // only the next unpaid parcel can be paid
    expect((await a.get(`/acordos/${id}/pagar?parcela=2`)).status).toBe(303);
    expect((await simulatePayment(a, `/acordos/${id}/pagar?parcela=1`)).status).toBe(303);
    expect((await agreementRow(t, id)).status).toBe('active');
    const afterFirst = textOf((await a.get(page)).text);
    expect(afterFirst).toContain('o credor foi informado');
    expect((await a.get(page)).text).toContain(`href="/acordos/${id}/pagar?parcela=2"`);

    await simulatePayment(a, `/acordos/${id}/pagar?parcela=2`);
    expect((await agreementRow(t, id)).status).toBe('active');
    await simulatePayment(a, `/acordos/${id}/pagar?parcela=3`);
    const done = await agreementRow(t, id);
    expect(done.status).toBe('completed');
    expect(done.paidCents).toBe(done.totalCents);
    expect((await parcelRows(t, id)).map((x) => x.status)).toEqual(['paid', 'paid', 'paid']);
    const [debt] = await t.database.db.select().from(debts).where(eq(debts.id, p.debts[0]!.id));
    expect(debt!.status).toBe('settled');
    expect((await eventsOf(t, id)).map((e) => e.type)).toEqual([
      'agreement.created',
      'payment.succeeded',
      'agreement.activated',
      'payment.succeeded',
      'payment.succeeded',
      'agreement.completed',
    ]);
    // a paid agreement has nothing left to pay
    expect((await a.get(`/acordos/${id}/pagar?parcela=3`)).status).toBe(303);
    expect((await a.get(`/acordos/${id}/quitar`)).status).toBe(303);
  });
});

describe('without a provider', () => {
  it('says payments are unavailable (production without Stripe nor PAYMENTS_SANDBOX)', async () => {
    const off = await buildTestApp({ config: { paymentsSandbox: false } });
    try {
      const { a, id } = await seedAgreement(off, 2);
      const res = await a.get(`/acordos/${id}/pagar?parcela=1`);
      expect(res.status).toBe(200);
      expect(textOf(res.text)).toContain('Os pagamentos estão indisponíveis no momento');
      expect(res.text).not.toContain('Simular pagamento');
      expect(res.text).not.toContain('Pagar com Pix');
    } finally {
      await off.close();
    }
  });
});
