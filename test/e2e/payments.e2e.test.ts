// The sandbox payment path in a real browser (Debian's chromium): from the agreement page,
// Pagar → the payment page (amount, Pix code and its QR) → Simular pagamento, for every
// parcel, until the agreement is settled; and Quitar antecipado on a desktop. Pages fit a
// 360 px phone with no serious or critical axe-core violation.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { AXE, OUT, browserSkipReason, startBrowserSession } from '../helpers/browser.js';
import { seedPortal } from '../http/portal-helpers.js';



describe.skipIf(browserSkipReason !== undefined)('sandbox payments in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ({ t, browser, base } = await startBrowserSession());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function check(page: Page, shot: string) {
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), `${shot}: scrolls sideways`).toBe(true);
    await page.addScriptTag({ path: AXE });
    // A string, run in the page: the test itself is compiled without the DOM library.
    const violations = (await page.evaluate(`(async () => {
      const result = await window.axe.run();
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')');
    })()`)) as string[];
    expect(violations, `${shot}: axe`).toEqual([]);
    await page.screenshot({ path: path.join(OUT, `${shot}.png`), fullPage: true });
  }

  async function click(page: Page, name: string | RegExp, role: 'button' | 'link' = 'button') {
    const [response] = await Promise.all([page.waitForNavigation(), page.getByRole(role, { name, exact: typeof name === 'string' }).first().click()]);
    return response;
  }

  /** Link → CPF → debts → offers → the plan with `plan` in its title → consent: the agreement page. */
  async function agree(page: Page, plan: RegExp) {
    const p = await seedPortal(t, [{ description: 'Mensalidade escolar', amountCents: 150_000, daysOverdue: 45 }]);
    await page.goto(`${base}/a/${p.link.token}`);
    await page.getByLabel('CPF').fill(p.cpf);
    await click(page, 'Continuar');
    await click(page, 'Ver ofertas');
    const offer = page.locator('section.offer', { has: page.getByRole('heading', { name: plan }) });
    await Promise.all([page.waitForNavigation(), offer.getByRole('button', { name: 'Escolher' }).click()]);
    await page.getByLabel('Li e concordo com os termos do acordo').check();
    await click(page, 'Confirmar acordo');
    expect(new URL(page.url()).pathname).toMatch(/^\/acordos\/[0-9a-f-]{36}$/);
  }

  it('pays every parcel with Simular pagamento on a phone and sees the agreement settled', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'pt-BR', bypassCSP: true });
    const page = await context.newPage();
    try {
      await agree(page, /^3\u00d7 de R\$/);
      const agreementUrl = page.url();
      for (const n of [1, 2, 3]) {
        await click(page, 'Pagar', 'link');
        expect(new URL(page.url()).search).toBe(`?parcela=${n}`);
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(`Pagar a parcela ${n} de 3`);
        const main = await page.locator('main').innerText();
        expect(main).toMatch(/Valor a pagar: R\$\s[\d.]+,\d{2}/);
        expect(await page.getByLabel('Pix copia e cola').inputValue()).toMatch(/^000201.*6304[0-9A-F]{4}$/);
        expect(await page.getByRole('img', { name: /QR Code Pix/ }).isVisible()).toBe(true);
        expect(await page.evaluate(`(() => { const img = document.querySelector('img[alt^="QR Code Pix"]'); return img.complete && img.naturalWidth > 0; })()`)).toBe(true);
        if (n === 1) await check(page, 'payments-phone-1-pagar');
        await click(page, 'Simular pagamento');
        expect(page.url()).toBe(agreementUrl);
        const text = await page.locator('main').innerText();
        if (n < 3) {
          expect(text).toContain('Em andamento');
          expect(text).toContain('o credor foi informado');
        }
      }
      const done = await page.locator('main').innerText();
      expect(done).toContain('Quitado');
      expect(done).toContain('Dívida quitada');
      expect(done).toContain('5 dias úteis');
      expect(await page.getByRole('link', { name: 'Pagar', exact: true }).count()).toBe(0);
      expect(await page.getByRole('link', { name: 'Quitar antecipado' }).count()).toBe(0);
      await check(page, 'payments-phone-2-quitado');
    } finally {
      await context.close();
    }
  }, 120_000);

  it('pays off early with Quitar antecipado on a desktop', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'pt-BR', bypassCSP: true });
    const page = await context.newPage();
    try {
      await agree(page, /^6\u00d7 de R\$/);
      await click(page, 'Quitar antecipado', 'link');
      expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Quitar antecipado');
      expect(await page.locator('main').innerText()).toContain('art. 52');
      await check(page, 'payments-desktop-quitar');
      await click(page, 'Simular pagamento');
      const done = await page.locator('main').innerText();
      expect(done).toContain('Dívida quitada');
      expect((done.match(/Paga em/g) ?? []).length).toBe(6);
    } finally {
      await context.close();
    }
  }, 120_000);
});
