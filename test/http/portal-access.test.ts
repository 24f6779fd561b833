// GET/POST /a/{token}: the CPF gate, lockouts, revocation, sessions and CSRF.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debtorLinks, portalSessions } from '../../src/db/schema/index.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agent, csrfOf, login, newCpf, openLink, seedPortal, textOf } from './portal-helpers.js';

let t: TestApp;
const START = new Date('2026-11-23T12:00:00-03:00');
beforeAll(async () => {
  t = await buildTestApp({ now: START });
});
afterAll(async () => t.close());

const FAILED = 'Não foi possível confirmar o acesso';

/** Posts a CPF with a CSRF token taken once from the form. */
async function tries(token: string, cpfs: string[]) {
  const a = agent(t);
  const page = await a.get(`/a/${token}`);
  const csrf = csrfOf(page.text);
  const out = [];
  for (const cpf of cpfs) out.push(await a.post(`/a/${token}`).type('form').send({ _csrf: csrf, cpf }));
  return out;
}

describe('GET /a/{token}', () => {
  it('asks for the CPF and shows nothing about any debt or creditor', async () => {
    const p = await seedPortal(t, [{ description: 'Mensalidade escolar' }], { name: 'Escola Secreta Ltda' });
    const res = await agent(t).get(`/a/${p.link.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toMatch(/<label for="cpf">CPF<\/label>/);
    expect(res.text).toMatch(/<button type="submit">Continuar<\/button>/);
    expect(res.text).toContain('<title>Quita — acesso</title>');
    expect(res.text).not.toMatch(/d[íi]vida|credor|Escola Secreta|Mensalidade|R\$/i);
    expect(res.text).toContain('href="/privacidade"');
    // The form posts to this same address; the token is not repeated in the page.
    expect(res.text).not.toContain(p.link.token);
    expect(res.text).toMatch(/<form method="post">/);
  });

  it('is the same page for an unknown token', async () => {
    const res = await agent(t).get('/a/this-token-does-not-exist-at-all');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<label for="cpf">CPF</label>');
  });
});

describe('POST /a/{token}', () => {
  it('opens a session with the right CPF: cookie, 303 to the debts page, token nowhere after', async () => {
    const p = await seedPortal(t);
    const a = agent(t);
    const res = await openLink(a, p.link.token, p.cpf.replace(/^(\d{3})(\d{3})(\d{3})(\d{2})$/, '$1.$2.$3-$4'));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/dividas');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('quita_sessao='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Max-Age=1800/);
    expect(cookie).not.toMatch(/Secure/);
    const value = /quita_sessao=([^;]+)/.exec(cookie)![1]!;
    // Only the hash of the cookie value is stored.
    const stored = await t.database.db.select().from(portalSessions).where(eq(portalSessions.linkId, p.link.id));
    expect(stored.map((s) => s.id)).not.toContain(value);
    const debts = await a.get('/dividas');
    expect(debts.status).toBe(200);
    expect(debts.text).not.toContain(p.link.token);
    expect(debts.text).not.toContain(p.cpf);
    expect(debts.text).toContain(`***.${p.cpf.slice(3, 6)}.${p.cpf.slice(6, 9)}-**`);
  });

  it('answers the same message for a wrong CPF and for unknown, expired and revoked tokens', async () => {
    const p = await seedPortal(t);
    const expired = await seedPortal(t);
    await t.database.db.update(debtorLinks).set({ expiresAt: new Date(START.getTime() - 1000) }).where(eq(debtorLinks.id, expired.link.id));
    const revoked = await seedPortal(t);
    expect((await t.request.delete(`/api/v1/links/${revoked.link.id}`).set(revoked.creditor.auth)).status).toBe(204);

    const a = agent(t);
    const csrf = csrfOf((await a.get(`/a/${p.link.token}`).expect(200)).text);
    const post = (token: string, cpf: string) => a.post(`/a/${token}`).type('form').send({ _csrf: csrf, cpf });
    const answers = [
      await post(p.link.token, newCpf()),
      await post('no-such-token-0123456789abcdef', p.cpf),
      await post(expired.link.token, expired.cpf),
      await post(revoked.link.token, revoked.cpf),
      await post(p.link.token, ''),
    ];
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.text).toContain(FAILED);
      expect(res.text).toBe(answers[0]!.text);
    }
  });

  it('locks the link for 15 minutes after 5 wrong CPFs, then opens again', async () => {
    t.clock.set(START);
    const p = await seedPortal(t);
    const wrong = newCpf();
    const answers = await tries(p.link.token, [wrong, wrong, wrong, wrong, wrong, p.cpf]);
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);
    const [link] = await t.database.db.select().from(debtorLinks).where(eq(debtorLinks.id, p.link.id));
    expect(link!.lockouts).toBe(1);
    const lockedAt = link!.lockedUntil!.getTime() - 15 * 60_000;
    expect(lockedAt).toBeGreaterThanOrEqual(START.getTime());
    expect(lockedAt).toBeLessThanOrEqual(t.clock.now().getTime());

    t.clock.set(new Date(lockedAt + 14 * 60_000));
    expect((await tries(p.link.token, [p.cpf]))[0]!.status).toBe(401);
    t.clock.set(new Date(lockedAt + 15 * 60_000 + 1000));
    expect((await tries(p.link.token, [p.cpf]))[0]!.status).toBe(303);
    t.clock.set(START);
  });

  it('revokes the link at the third lockout', async () => {
    t.clock.set(START);
    const p = await seedPortal(t);
    const wrong = Array.from({ length: 5 }, () => newCpf());
    for (let lockout = 1; lockout <= 3; lockout++) {
      await tries(p.link.token, wrong);
      const [link] = await t.database.db.select().from(debtorLinks).where(eq(debtorLinks.id, p.link.id));
      expect(link!.lockouts).toBe(lockout);
      expect(link!.revokedAt !== null).toBe(lockout === 3);
      t.clock.set(new Date(link!.lockedUntil!.getTime() + 1000));
    }
    expect((await tries(p.link.token, [p.cpf]))[0]!.status).toBe(401);
    t.clock.set(START);
  });

  it('refuses a post without a CSRF token, or with a wrong one (403 page)', async () => {
    const p = await seedPortal(t);
    const a = agent(t);
    await a.get(`/a/${p.link.token}`).expect(200);
    const missing = await a.post(`/a/${p.link.token}`).type('form').send({ cpf: p.cpf });
    expect(missing.status).toBe(403);
    expect(missing.headers['content-type']).toMatch(/text\/html/);
    const wrong = await a.post(`/a/${p.link.token}`).type('form').send({ cpf: p.cpf, _csrf: 'forged-token' });
    expect(wrong.status).toBe(403);
    // No cookie at all (a cross-site post)
    const bare = await agent(t).post(`/a/${p.link.token}`).type('form').send({ cpf: p.cpf, _csrf: 'x' });
    expect(bare.status).toBe(403);
    const [link] = await t.database.db.select().from(debtorLinks).where(eq(debtorLinks.id, p.link.id));
    expect(link!.failedAttempts).toBe(0);
  });
});

describe('sessions', () => {
  it('expire after 30 idle minutes, sliding with use', async () => {
    t.clock.set(START);
    const p = await seedPortal(t);
    const a = await login(t, p);
    t.clock.set(new Date(START.getTime() + 20 * 60_000));
    expect((await a.get('/dividas')).status).toBe(200);
    t.clock.set(new Date(START.getTime() + 45 * 60_000));
    expect((await a.get('/dividas')).status).toBe(200);
    t.clock.set(new Date(START.getTime() + 76 * 60_000));
    const ended = await a.get('/dividas');
    expect(ended.status).toBe(401);
    expect(textOf(ended.text)).toContain('Sua sessão terminou');
    t.clock.set(START);
  });

  it('end with Sair (a POST with CSRF)', async () => {
    const p = await seedPortal(t);
    const a = await login(t, p);
    const page = await a.get('/dividas');
    expect(page.text).toMatch(/<form method="post" action="\/sair"/);
    expect((await a.post('/sair').type('form').send({})).status).toBe(403);
    const out = await a.post('/sair').type('form').send({ _csrf: csrfOf(page.text) });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/saiu');
    expect((await a.get('/dividas')).status).toBe(401);
  });

  it('end when the creditor revokes the link', async () => {
    const p = await seedPortal(t);
    const a = await login(t, p);
    expect((await a.get('/dividas')).status).toBe(200);
    await t.request.delete(`/api/v1/links/${p.link.id}`).set(p.creditor.auth).expect(204);
    expect((await a.get('/dividas')).status).toBe(401);
  });

  it('without one, logged-in pages answer 401 and mint no CSRF secret', async () => {
    for (const path of ['/dividas', '/ofertas?debts=1', '/acordos/00000000-0000-4000-8000-000000000000']) {
      const res = await agent(t).get(path);
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie'] ?? []).toEqual([]);
    }
    const privacy = await agent(t).get('/privacidade');
    expect(privacy.status).toBe(200);
    expect(privacy.headers['set-cookie'] ?? []).toEqual([]);
  });
});
