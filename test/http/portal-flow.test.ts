import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { chooseAndConfirm, debtStatus, login, offersPage, seedPortal, textOf } from './portal-helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

describe('portal: from a link to a confirmed agreement', () => {
  it('walks link → CPF → debts → offers → confirmation → agreement', async () => {
    const p = await seedPortal(t);
    const a = await login(t, p);
    const debtsPage = await a.get('/dividas');
    expect(debtsPage.status).toBe(200);
    expect(debtsPage.text).toContain('Ver ofertas');
    const { res, offers } = await offersPage(a, p.debts.map((d) => d.id));
    expect(res.status).toBe(200);
    expect(offers.length).toBeGreaterThan(1);
    const plan = offers.find((o) => o.title.startsWith('3\u00d7'))!;
    const done = await chooseAndConfirm(a, plan);
    expect(done.status).toBe(303);
    const page = await a.get(done.headers.location as string);
    expect(page.status).toBe(200);
    expect(textOf(page.text)).toContain('Aguardando o pagamento');
    expect(await debtStatus(t, p.debts[0]!.id)).toBe('in_agreement');
  });
});
