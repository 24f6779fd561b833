// The debts page, the offers page and the confirmation (CONTRACT §6.2–6.4).
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementDebts, agreements, offers as offersTable, parcels, portalSessions } from '../../src/db/schema/index.js';
import { defaultPolicy } from '../../src/modules/negotiation/policy.js';
import { createPolicyService } from '../../src/modules/negotiation/policy.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { chooseAndConfirm, csrfOf, debtStatus, insertDebts, login, offerForms, offersPage, seedPortal, textOf, rowsOf } from './portal-helpers.js';

/** `À vista: R$ 1.234,56` → 123456 */
const centsOf = (title: string) => Number(title.replace(/^.*R\$\s?/u, '').replace(/\./g, '').replace(',', ''));

let t: TestApp;
const START = new Date('2026-11-23T12:00:00-03:00');
beforeAll(async () => {
  t = await buildTestApp({ now: START });
});
afterAll(async () => t.close());

describe('the debts page', () => {
  it('lists the open debts of the link creditor only, with description, original due date and updated balance', async () => {
    const p = await seedPortal(t, [
      { description: 'Mensalidade de março', amountCents: 100_000, daysOverdue: 30 },
      { description: 'Quitada antes', status: 'settled' },
      { description: 'Retirada', status: 'withdrawn' },
      { description: 'Prescrita pela data', daysOverdue: 5 * 366 },
      { description: 'Prescrita', status: 'prescribed' },
    ]);
    const other = await seedPortal(t, [{ description: 'De outro credor' }]);
    await insertDebts(t, other.creditor.creditorId, p.cpf, [{ description: 'Outro credor, mesmo CPF' }]);
    const a = await login(t, p);
    const res = await a.get('/dividas');
    const text = textOf(res.text);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(text).toContain('Mensalidade de março');
    expect(text).toContain('Vencimento original: 24/10/2026');
    // 30 days: 1000 + 2 % fine + 1 % × 30/30 interest
    expect(text).toContain('R$ 1.030,00');
    for (const hidden of ['Quitada antes', 'Retirada', 'Prescrita', 'De outro credor', 'Outro credor, mesmo CPF']) expect(text).not.toContain(hidden);
    expect(res.text.match(/type="checkbox"/g)).toHaveLength(1);
    expect(res.text).toMatch(/<button type="submit">Ver ofertas<\/button>/);
    // CDC art. 42-A: the creditor's name, CNPJ and address
    expect(text).toMatch(/CNPJ \d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}/);
    expect(text).toContain('Av. Paulista, 1000, São Paulo/SP, CEP 01310-100');
    expect(res.text).toContain('href="/privacidade"');
    // the other creditor's debt ids are not offered either
    const forged = await a.get(`/ofertas?debts=${other.debts[0]!.id}`);
    expect(forged.status).toBe(303);
  });

  it('renders a name or description with <script> inert', async () => {
    const p = await seedPortal(t, [{ description: '<script>alert(1)</script> conta', name: '<script>x</script>' }]);
    const a = await login(t, p);
    const res = await a.get('/dividas');
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; conta');
    const offers = await offersPage(a, [p.debts[0]!.id]);
    expect(offers.res.text).not.toContain('<script>');
    expect(offers.res.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  it('lists live agreements first, linking to their pages', async () => {
    const p = await seedPortal(t, [{}, {}]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    const done = await chooseAndConfirm(a, offers[0]!);
    const page = await a.get('/dividas');
    const agreementAt = page.text.indexOf(`href="${done.headers.location}"`);
    expect(agreementAt).toBeGreaterThan(0);
    expect(agreementAt).toBeLessThan(page.text.indexOf('type="checkbox"'));
    expect(page.text.match(/type="checkbox"/g)).toHaveLength(1);
  });
});

describe('the offers page', () => {
  it('shows the cash offer first, then N× de R$ X plans with total, rates and due dates, each with Escolher', async () => {
    const p = await seedPortal(t, [{ amountCents: 120_000, daysOverdue: 0 }]);
    const a = await login(t, p);
    const { res, offers } = await offersPage(a, [p.debts[0]!.id]);
    expect(res.status).toBe(200);
    expect(offers[0]!.title).toMatch(/^À vista: R\$\u00a01\.080,00$/);
    expect(offers.slice(1).map((o) => o.title.split('\u00d7')[0])).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    expect(offers[1]!.title).toBe('2\u00d7 de R$\u00a0602,99');
    const text = textOf(res.text);
    expect(text).toMatch(/Juros efetivos: \d+,\d{2}% ao mês · \d+,\d{2}% ao ano/);
    expect(text).toContain('Vencimentos: 23/11/2026, 23/12/2026');
    expect(res.text.match(/<button type="submit" aria-describedby="oferta-\d+">Escolher<\/button>/g)).toHaveLength(offers.length);
    expect(res.text).toMatch(/<input type="date" id="vencimento" name="vencimento" value="2026-11-23" min="2026-11-23" max="2026-12-03"/);
    expect(res.text).toMatch(/<label for="vencimento">/);
    expect(Buffer.byteLength(res.text)).toBeLessThan(50_000);
    // each offer shown is stored exactly as shown
    const stored = await t.database.db.select().from(offersTable).where(eq(offersTable.id, offers[1]!.id));
    expect(stored[0]!.installments).toBe(2);
    expect(stored[0]!.policyVersion).toBe(0);
    expect(stored[0]!.expiresAt.getTime() - stored[0]!.createdAt.getTime()).toBe(48 * 3600_000);
  });

  it('recomputes for another first due date within the window, and refuses one outside it', async () => {
    const p = await seedPortal(t, [{ amountCents: 120_000 }]);
    const a = await login(t, p);
    const later = await offersPage(a, [p.debts[0]!.id], '2026-12-01');
    expect(textOf(later.res.text)).toContain('Vencimentos: 01/12/2026, 01/01/2027');
    const tooLate = await offersPage(a, [p.debts[0]!.id], '2026-12-04');
    expect(textOf(tooLate.res.text)).toContain('Escolha uma data entre 23/11/2026 e 03/12/2026');
    expect(tooLate.res.text).toContain('value="2026-11-23"');
    const past = await offersPage(a, [p.debts[0]!.id], '2026-11-22');
    expect(textOf(past.res.text)).toContain('Escolha uma data entre');
  });

  it('sends the debtor back to the debts page when nothing is chosen', async () => {
    const p = await seedPortal(t);
    const a = await login(t, p);
    const res = await a.get('/ofertas');
    expect(res.status).toBe(303);
    const back = await a.get(res.headers.location as string);
    expect(textOf(back.text)).toContain('Marque ao menos uma dívida');
  });
});

describe('choosing and confirming', () => {
  it('restates the terms and asks for consent; records it on confirmation', async () => {
    const p = await seedPortal(t, [{ amountCents: 120_000, description: 'Curso de inglês' }]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    const plan = offers.find((o) => o.title.startsWith('3\u00d7'))!;
    const chosen = await a.post('/ofertas/escolher').type('form').send({ _csrf: plan.csrf, oferta: plan.id, h: plan.hash });
    expect(chosen.status).toBe(303);
    const confirm = await a.get(chosen.headers.location as string);
    const text = textOf(confirm.text);
    for (const needed of [
      'Curso de inglês',
      'Total a pagar',
      'Taxa de juros nominal 1,00% ao mês · 12,00% ao ano (12 vezes a taxa mensal)',
      'Custo efetivo',
      '23/01/2027',
      'multa de 2,00% e juros de mora de 1,00% ao mês, proporcionais aos dias de atraso',
      'art. 52, §2º',
      'Av. Paulista, 1000',
    ]) expect(text).toContain(needed);
    expect(confirm.text).toMatch(/<label for="aceite">Li e concordo com os termos do acordo<\/label>/);
    expect(confirm.text).toMatch(/<button type="submit">Confirmar acordo<\/button>/);

    // without the checkbox: 422, nothing made
    const refused = await a.post(`/ofertas/${plan.id}/confirmar`).type('form').send({ _csrf: csrfOf(confirm.text), h: plan.hash });
    expect(refused.status).toBe(422);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('open');

    const done = await a.post(`/ofertas/${plan.id}/confirmar`).set('User-Agent', 'TestPhone/1.0').type('form').send({ _csrf: csrfOf(confirm.text), h: plan.hash, aceite: 'sim' });
    expect(done.status).toBe(303);
    const id = (done.headers.location as string).split('/').pop()!;
    const [row] = await t.database.db.select().from(agreements).where(eq(agreements.id, id));
    expect(row!.consentUserAgent).toBe('TestPhone/1.0');
    expect(row!.consentIp).toMatch(/127\.0\.0\.1|::1/);
    expect(row!.acceptedAt.getTime()).toBeGreaterThanOrEqual(START.getTime());
    expect(row!.termsHash).toBe(plan.hash);
    expect(row!.installments).toBe(3);
    const ps = await t.database.db.select().from(parcels).where(eq(parcels.agreementId, id));
    expect(ps.map((x) => x.dueDate).sort()).toEqual(['2026-11-23', '2026-12-23', '2027-01-23']);
    const ds = await t.database.db.select().from(agreementDebts).where(eq(agreementDebts.agreementId, id));
    expect(ds).toHaveLength(1);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('in_agreement');
    // and an agreement.created event, in the same transaction, carrying the API shape
    const events = await rowsOf<{ type: string; data: unknown }>(t, sql`SELECT type, data FROM webhook_events WHERE data->>'id' = ${id}`);
    expect(events.map((e) => e.type)).toEqual(['agreement.created']);
    const api = await t.request.get(`/api/v1/agreements/${id}`).set(p.creditor.auth);
    const data = typeof events[0]!.data === 'string' ? JSON.parse(events[0]!.data) : events[0]!.data;
    expect(data).toEqual(api.body);
  });

  it('refuses a tampered offer (unknown id, altered hash, another session’s) with fresh offers', async () => {
    const p = await seedPortal(t, [{ amountCents: 90_000 }]);
    const a = await login(t, p);
    const b = await login(t, p); // another session of the same debtor
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    const mine = offers[0]!;
    const other = (await offersPage(b, [p.debts[0]!.id])).offers[0]!;
    const attempts = [
      { oferta: '5d0c0d8c-0000-4000-8000-000000000000', h: mine.hash },
      { oferta: 'not-a-uuid', h: mine.hash },
      { oferta: mine.id, h: '0'.repeat(64) },
      { oferta: other.id, h: other.hash },
    ];
    for (const form of attempts) {
      const res = await a.post('/ofertas/escolher').type('form').send({ _csrf: mine.csrf, ...form });
      expect(res.status).toBe(409);
      expect(textOf(res.text)).toContain('Esta oferta não pôde ser usada');
      expect(offerForms(res.text).length).toBeGreaterThan(0);
    }
    // altered in the database: the stored terms no longer match their hash
    await t.database.db.execute(sql`UPDATE offers SET terms = jsonb_set(terms, '{offer,total_cents}', '1') WHERE id = ${mine.id}`);
    const altered = await a.post('/ofertas/escolher').type('form').send({ _csrf: mine.csrf, oferta: mine.id, h: mine.hash });
    expect(altered.status).toBe(409);
    expect((await a.post(`/ofertas/${mine.id}/confirmar`).type('form').send({ _csrf: mine.csrf, h: mine.hash, aceite: 'sim' })).status).toBe(409);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('open');
  });

  it('honours an offer exactly as shown after a policy change, and refuses it after its validity', async () => {
    t.clock.set(START);
    const p = await seedPortal(t, [{ amountCents: 200_000, daysOverdue: 10 }, { amountCents: 50_000, daysOverdue: 10 }]);
    const a = await login(t, p);
    const cash = (await offersPage(a, [p.debts[0]!.id])).offers[0]!;
    const expiring = (await offersPage(a, [p.debts[1]!.id])).offers[0]!;
    // The creditor changes its policy: no discount at all.
    const policy = defaultPolicy();
    policy.bands = [{ min_days_overdue: 0, cash_discount_pct: 0, installment_discount_pct: 0 }];
    await createPolicyService({ db: t.database.db }).replace(p.creditor.creditorId, policy, t.clock.now());
    const fresh = (await offersPage(a, [p.debts[0]!.id])).offers[0]!;
    expect(centsOf(fresh.title)).toBeGreaterThan(centsOf(cash.title));

    const made = await chooseAndConfirm(a, cash);
    expect(made.status).toBe(303);
    const id = (made.headers.location as string).split('/').pop()!;
    const [row] = await t.database.db.select().from(agreements).where(eq(agreements.id, id));
    expect(row!.totalCents).toBe(centsOf(cash.title));
    expect(row!.policyVersion).toBe(0);
    expect((row!.policy as { bands: unknown[] }).bands).toHaveLength(3);

    // 48 h after it was shown, the other offer is refused with today's offers (the session kept alive).
    const [shown] = await t.database.db.select().from(offersTable).where(eq(offersTable.id, expiring.id));
    t.clock.set(new Date(shown!.expiresAt.getTime() + 1000));
    await t.database.db.update(portalSessions).set({ lastSeenAt: t.clock.now() });
    const late = await a.post('/ofertas/escolher').type('form').send({ _csrf: expiring.csrf, oferta: expiring.id, h: expiring.hash });
    expect(late.status).toBe(409);
    expect(textOf(late.text)).toContain('Esta oferta expirou');
    const today = offerForms(late.text);
    expect(today[0]!.id).not.toBe(expiring.id);
    expect(centsOf(today[0]!.title)).toBeGreaterThan(centsOf(expiring.title)); // today's policy: no discount
    expect((await a.post(`/ofertas/${expiring.id}/confirmar`).type('form').send({ _csrf: expiring.csrf, h: expiring.hash, aceite: 'sim' })).status).toBe(409);
    expect(await debtStatus(t, p.debts[1]!.id)).toBe('open');
    t.clock.set(START);
  });

  it('makes exactly one agreement from 50 concurrent confirmations of one offer', async () => {
    const p = await seedPortal(t, [{ amountCents: 300_000 }]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    const offer = offers[2]!;
    const confirm = await a.get(`/ofertas/${offer.id}`);
    const csrf = csrfOf(confirm.text);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => a.post(`/ofertas/${offer.id}/confirmar`).type('form').send({ _csrf: csrf, h: offer.hash, aceite: 'sim' })),
    );
    expect(new Set(answers.map((r) => r.status))).toEqual(new Set([303]));
    expect(new Set(answers.map((r) => r.headers.location)).size).toBe(1);
    const made = await t.database.db.select().from(agreements).where(eq(agreements.offerId, offer.id));
    expect(made).toHaveLength(1);
    // A second offer for the same debts (another tab) leads to the same agreement.
    const again = await a.post(`/ofertas/${offers[0]!.id}/confirmar`).type('form').send({ _csrf: csrf, h: offers[0]!.hash, aceite: 'sim' });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe(answers[0]!.headers.location);
    expect(await t.database.db.select().from(agreements).where(eq(agreements.creditorId, p.creditor.creditorId))).toHaveLength(1);
  });

  it('refuses a confirmation without a valid CSRF token', async () => {
    const p = await seedPortal(t, [{}]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    const o = offers[0]!;
    expect((await a.post('/ofertas/escolher').type('form').send({ oferta: o.id, h: o.hash })).status).toBe(403);
    expect((await a.post(`/ofertas/${o.id}/confirmar`).type('form').send({ _csrf: 'nope', h: o.hash, aceite: 'sim' })).status).toBe(403);
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('open');
  });
});
