// Response headers that keep the portal's pages inert and private (CONTRACT §6): a CSP
// with default-src 'self', frame-ancestors 'none' and no inline script; nosniff;
// Referrer-Policy no-referrer; Cache-Control no-store on everything about a debt; the
// session cookie HttpOnly, SameSite=Lax, Secure in production; HSTS in production only.
// API answers, which carry CPFs and secrets, are not cached either.
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/modules/portal/session.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { creditorBody } from '../helpers/seed.js';
import { agent, chooseAndConfirm, csrfOf, login, offersPage, seedPortal, type Portal } from './portal-helpers.js';

function directives(res: Response): Map<string, string[]> {
  const header = String(res.headers['content-security-policy'] ?? '');
  const out = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), values);
  }
  return out;
}

/** The headers every portal page carries. */
function expectPageHeaders(res: Response, where: string): void {
  expect(res.headers['content-type'], where).toMatch(/^text\/html; charset=utf-8/);
  const csp = directives(res);
  expect(csp.size, `${where}: a Content-Security-Policy`).toBeGreaterThan(0);
  expect(csp.get('default-src'), where).toEqual(["'self'"]);
  expect(csp.get('frame-ancestors'), where).toEqual(["'none'"]);
  const scripts = csp.get('script-src') ?? csp.get('default-src')!;
  expect(scripts, where).not.toContain("'unsafe-inline'");
  expect(scripts, where).not.toContain("'unsafe-eval'");
  expect(scripts.some((s) => s === '*' || s === 'data:' || s === 'http:' || s === 'https:'), where).toBe(false);
  expect(csp.get('object-src'), where).toEqual(["'none'"]);
  expect(csp.get('base-uri'), where).toEqual(["'none'"]);
  expect(res.headers['x-content-type-options'], where).toBe('nosniff');
  expect(res.headers['referrer-policy'], where).toBe('no-referrer');
  expect(res.headers['cache-control'], where).toMatch(/no-store/);
}

function cookies(res: Response): Map<string, { value: string; attributes: string[] }> {
  const out = new Map<string, { value: string; attributes: string[] }>();
  for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const at = pair!.indexOf('=');
    out.set(pair!.slice(0, at), { value: pair!.slice(at + 1), attributes: attributes.map((a) => a.toLowerCase()) });
  }
  return out;
}

function expectCookie(res: Response, name: string, secure: boolean): string {
  const cookie = cookies(res).get(name);
  expect(cookie, `Set-Cookie ${name}`).toBeDefined();
  expect(cookie!.attributes).toContain('httponly');
  expect(cookie!.attributes).toContain('samesite=lax');
  expect(cookie!.attributes).toContain('path=/');
  expect(cookie!.attributes.includes('secure'), `${name} Secure`).toBe(secure);
  return cookie!.value;
}

describe('outside production', () => {
  let t: TestApp;
  let p: Portal;
  beforeAll(async () => {
    t = await buildTestApp();
    p = await seedPortal(t);
  });
  afterAll(async () => t?.close());

  it('every portal page, before and after login, carries the CSP, nosniff, no-referrer and no-store, and no HSTS', async () => {
    const pages: Array<[string, Response]> = [];
    const a = agent(t);
    const access = await a.get(`/a/${p.link.token}`);
    pages.push(['/a/{token}', access]);
    const wrong = await a.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrfOf(access.text), cpf: '111.444.777-35' });
    pages.push(['/a/{token} wrong CPF', wrong]);
    pages.push(['/dividas without a session', await agent(t).get('/dividas')]);
    const b = await login(t, p);
    pages.push(['/dividas', await b.get('/dividas')]);
    const { res: offers, offers: forms } = await offersPage(b, [p.debts[0]!.id]);
    pages.push(['/ofertas', offers]);
    const chosen = await b.post('/ofertas/escolher').type('form').send({ _csrf: forms[1]!.csrf, oferta: forms[1]!.id, h: forms[1]!.hash });
    pages.push(['/ofertas/{id}', await b.get(chosen.headers.location as string)]);
    const done = await chooseAndConfirm(b, forms[1]!);
    const agreement = done.headers.location as string;
    pages.push(['/acordos/{id}', await b.get(agreement)]);
    pages.push(['/acordos/{id}/comprovante', await b.get(`${agreement}/comprovante`)]);
    const pay = await b.get(`${agreement}/pagar`);
    if (pay.status === 200) pages.push(['/acordos/{id}/pagar', pay]);
    pages.push(['/acordos/{unknown}', await b.get('/acordos/00000000-0000-4000-8000-000000000000')]);
    pages.push(['/privacidade', await agent(t).get('/privacidade')]);
    pages.push(['/privacidade logged in', await b.get('/privacidade')]);
    pages.push(['404 page', await agent(t).get('/nada-aqui')]);
    pages.push(['malformed URL page', await agent(t).get('/%zz')]);
    pages.push(['CSRF failure page', await b.post('/sair').type('form').send({ _csrf: 'forged' })]);
    for (const [where, res] of pages) {
      expect(res.status, where).toBeLessThan(500);
      expectPageHeaders(res, where);
      expect(res.headers['strict-transport-security'], where).toBeUndefined();
    }
    expect(pages.map(([where, res]) => `${where} ${res.status}`)).toContain('/dividas 200');
  });

  it('redirects carry no-store and no-referrer too', async () => {
    const a = agent(t);
    const page = await a.get(`/a/${p.link.token}`);
    const opened = await a.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrfOf(page.text), cpf: p.cpf });
    expect(opened.status).toBe(303);
    expect(opened.headers['cache-control']).toMatch(/no-store/);
    expect(opened.headers['referrer-policy']).toBe('no-referrer');
    expect(opened.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    const none = await a.get('/ofertas');
    expect(none.status).toBe(303);
    expect(none.headers['cache-control']).toMatch(/no-store/);
  });

  it('the session and CSRF cookies are HttpOnly and SameSite=Lax, not Secure over plain HTTP in development', async () => {
    const a = agent(t);
    const page = await a.get(`/a/${p.link.token}`);
    expectCookie(page, '_csrf', false);
    const opened = await a.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrfOf(page.text), cpf: p.cpf });
    const session = cookies(opened).get(SESSION_COOKIE);
    expectCookie(opened, SESSION_COOKIE, false);
    expect(session!.attributes).toContain('max-age=1800');
    expect(session!.value.length).toBeGreaterThanOrEqual(40);
  });

  it('API answers, which carry CPFs and secrets, are never cached', async () => {
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody());
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: created.body.client_id, client_secret: created.body.client_secret });
    const auth = { Authorization: `Bearer ${token.body.access_token}` };
    const answers: Array<[string, Response]> = [
      ['POST /admin/creditors', created],
      ['POST /auth/token', token],
      ['POST /credentials', await t.request.post('/api/v1/credentials').set(auth)],
      ['POST /webhook-endpoints', await t.request.post('/api/v1/webhook-endpoints').set(auth).send({ url: 'https://example.com/h' })],
      ['POST /links', await t.request.post('/api/v1/links').set(p.creditor.auth).send({ cpf: p.cpf })],
      ['GET /debts', await t.request.get(`/api/v1/debts?cpf=${p.cpf}`).set(p.creditor.auth)],
      ['GET /profile', await t.request.get('/api/v1/profile').set(auth)],
      ['401', await t.request.get('/api/v1/profile')],
      ['404', await t.request.get('/api/v1/nada').set(auth)],
    ];
    for (const [what, res] of answers) {
      expect(res.status, what).toBeLessThan(500);
      expect(res.headers['cache-control'], what).toMatch(/no-store/);
      expect(res.headers['x-content-type-options'], what).toBe('nosniff');
    }
  });
});

describe('in production', () => {
  let prod: TestApp;
  let p: Portal;
  beforeAll(async () => {
    // Behind a TLS-terminating proxy on loopback, as deployed: the app itself speaks HTTP.
    prod = await buildTestApp({ config: { env: 'production', isProduction: true, trustProxy: ['loopback'] } });
    p = await seedPortal(prod);
  });
  afterAll(async () => prod?.close());

  it('sends HSTS, upgrades insecure requests, and marks the cookies Secure', async () => {
    // Secure cookies are not sent back over plain HTTP by a client: carried by hand here.
    const https = { 'X-Forwarded-Proto': 'https' };
    const page = await prod.request.get(`/a/${p.link.token}`).set(https);
    expect(page.status).toBe(200);
    expectPageHeaders(page, 'production /a/{token}');
    const hsts = String(page.headers['strict-transport-security']);
    expect(Number(/max-age=(\d+)/.exec(hsts)?.[1])).toBeGreaterThanOrEqual(31_536_000);
    expect(hsts).toMatch(/includeSubDomains/i);
    expect(directives(page).has('upgrade-insecure-requests')).toBe(true);
    const csrfCookie = expectCookie(page, '_csrf', true);

    const opened = await prod.request
      .post(`/a/${p.link.token}`)
      .set(https)
      .set('Cookie', `_csrf=${csrfCookie}`)
      .type('form')
      .send({ _csrf: csrfOf(page.text), cpf: p.cpf });
    expect(opened.status, opened.text.slice(0, 300)).toBe(303);
    const session = expectCookie(opened, SESSION_COOKIE, true);
    const debts = await prod.request.get('/dividas').set(https).set('Cookie', `_csrf=${csrfCookie}; ${SESSION_COOKIE}=${session}`);
    expect(debts.status).toBe(200);
    expectPageHeaders(debts, 'production /dividas');
    expect(debts.headers['strict-transport-security']).toBe(page.headers['strict-transport-security']);
    const api = await prod.request.get('/api/v1/profile').set(p.creditor.auth);
    expect(api.headers['strict-transport-security']).toBeDefined();
    const malformed = await prod.request.get('/%zz');
    expectPageHeaders(malformed, 'production malformed URL page');
  });
});
