// The debtor's whole way in a real browser (Debian's chromium): link → CPF → debts →
// offers → confirmation → agreement, on a 360 px phone and on a desktop, with no sideways
// scrolling, no serious or critical axe-core violation, and every page under 50 KB with its CSS.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSS } from '../../src/plugins/view.js';
import type { TestApp } from '../helpers/app.js';
import { AXE, OUT, browserSkipReason, startBrowserSession } from '../helpers/browser.js';
import { seedPortal } from '../http/portal-helpers.js';


const CSS_BYTES = Buffer.byteLength(CSS);

const VIEWPORTS = [
  { name: 'phone', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];

describe.skipIf(browserSkipReason !== undefined)('portal in a real browser', () => {
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

  /** Checks the page now shown: no sideways scroll, axe, size; then a screenshot. */
  async function check(page: Page, shot: string, bytes: number) {
    const fits = await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth');
    expect(fits, `${shot}: scrolls sideways`).toBe(true);
    expect(bytes + CSS_BYTES, `${shot}: page and CSS weigh ${bytes + CSS_BYTES} bytes`).toBeLessThan(50_000);
    expect(await page.getAttribute('html', 'lang')).toBe('pt-BR');
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

  async function bodyBytes(response: { body(): Promise<Buffer> } | null): Promise<number> {
    return response ? (await response.body()).length : 0;
  }

  for (const device of VIEWPORTS) {
    it(`walks from the link to a confirmed agreement on ${device.name} (${device.viewport.width}×${device.viewport.height})`, async () => {
      const p = await seedPortal(t, [
        { description: 'Mensalidade escolar de agosto', amountCents: 89_000, daysOverdue: 100 },
        { description: 'Material didático', amountCents: 23_450, daysOverdue: 40 },
        { description: '<script>alert("x")</script> Taxa de matrícula', amountCents: 50_000, daysOverdue: 400 },
      ]);
      const context = await browser.newContext({ viewport: device.viewport, isMobile: device.isMobile, hasTouch: device.hasTouch, deviceScaleFactor: device.deviceScaleFactor, locale: 'pt-BR', bypassCSP: true });
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const shot = (step: string) => `${device.name}-${step}`;
      try {
        // 1. the link
        let response = await page.goto(`${base}/a/${p.link.token}`);
        expect(response!.status()).toBe(200);
        expect(await page.title()).toBe('Quita — acesso');
        await check(page, shot('1-acesso'), await bodyBytes(response));

        // a wrong CPF first
        await page.getByLabel('CPF').fill('111.444.777-35');
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continuar' }).click()]).then(([r]) => r);
        expect(response!.status()).toBe(401);
        expect(await page.getByRole('alert').innerText()).toContain('Não foi possível confirmar o acesso');
        await check(page, shot('1b-acesso-erro'), await bodyBytes(response));

        // 2. the CPF, then the debts page
        await page.getByLabel('CPF').fill(p.cpf.replace(/^(\d{3})(\d{3})(\d{3})(\d{2})$/, '$1.$2.$3-$4'));
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continuar' }).click()]).then(([r]) => r);
        expect(new URL(page.url()).pathname).toBe('/dividas');
        expect(page.url()).not.toContain(p.link.token);
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Suas dívidas');
        expect(await page.locator('main').innerText()).toContain('<script>alert("x")</script> Taxa de matrícula');
        await check(page, shot('2-dividas'), await bodyBytes(response));

        // 3. the offers, then another first due date
        await page.getByLabel(/Material didático/).uncheck();
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Ver ofertas' }).click()]).then(([r]) => r);
        expect(new URL(page.url()).pathname).toBe('/ofertas');
        expect(await page.locator('section.offer h2').first().innerText()).toMatch(/^À vista: R\$/);
        await check(page, shot('3-ofertas'), await bodyBytes(response));
        await page.getByLabel('Data do primeiro pagamento').fill('2026-11-30');
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Atualizar ofertas' }).click()]).then(([r]) => r);
        expect(await page.locator('main').innerText()).toContain('Vencimentos: 30/11/2026, 30/12/2026');
        const plan = page.locator('section.offer', { has: page.getByRole('heading', { name: /^3\u00d7 de R\$/ }) });
        response = await Promise.all([page.waitForNavigation(), plan.getByRole('button', { name: 'Escolher' }).click()]).then(([r]) => r);

        // 4. the confirmation
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Confirme o acordo');
        expect(await page.locator('main').innerText()).toContain('art. 52, §2º');
        await check(page, shot('4-confirmar'), await bodyBytes(response));
        await page.getByLabel('Li e concordo com os termos do acordo').check();
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Confirmar acordo' }).click()]).then(([r]) => r);

        // 5. the agreement, its receipt, privacy, and Sair
        expect(new URL(page.url()).pathname).toMatch(/^\/acordos\/[0-9a-f-]{36}$/);
        expect(await page.locator('main').innerText()).toContain('Aguardando o pagamento da 1ª parcela');
        expect(await page.getByRole('link', { name: 'Pagar', exact: true }).getAttribute('href')).toMatch(/\/pagar\?parcela=1$/);
        expect(await page.getByRole('link', { name: 'Quitar antecipado' }).isVisible()).toBe(true);
        await check(page, shot('5-acordo'), await bodyBytes(response));
        response = await page.goto(`${page.url()}/comprovante`);
        expect(await page.locator('main').innerText()).toContain('SHA-256');
        await check(page, shot('6-comprovante'), await bodyBytes(response));
        response = await page.goto(`${base}/privacidade`);
        await check(page, shot('7-privacidade'), await bodyBytes(response));
        response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sair' }).click()]).then(([r]) => r);
        expect(new URL(page.url()).pathname).toBe('/saiu');
        await check(page, shot('8-saiu'), await bodyBytes(response));
        response = await page.goto(`${base}/dividas`);
        expect(response!.status()).toBe(401);
        expect(dialogs).toEqual([]);
      } finally {
        await context.close();
      }
    }, 120_000);
  }
});
