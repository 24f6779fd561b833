// /a/{token} is rate-limited by client address (60 a minute); logged-in pages are not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agent, csrfOf, login, seedPortal } from './portal-helpers.js';

let t: TestApp;
beforeAll(async () => {
  // Behind a trusted proxy, so that each test can speak from its own address.
  t = await buildTestApp({ config: { trustProxy: true } });
});
afterAll(async () => t.close());

describe('rate limit on /a/{token}', () => {
  it('answers the 61st POST of a minute from one address with 429 and a page saying when to try again', async () => {
    const p = await seedPortal(t);
    const a = agent(t);
    const ip = '203.0.113.10';
    const csrf = csrfOf((await a.get(`/a/${p.link.token}`).set('X-Forwarded-For', ip)).text);
    const post = (token: string) => a.post(`/a/${token}`).set('X-Forwarded-For', ip).type('form').send({ _csrf: csrf, cpf: p.cpf });
    const statuses: number[] = [];
    for (let i = 0; i < 59; i++) statuses.push((await post(`${p.link.token}x${i}`)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect((await post(p.link.token)).status).toBe(303);
    const limited = await post(p.link.token);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/text\/html/);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.text).toMatch(/Tente de novo em \d+ segundos/);
    expect(limited.text).not.toContain(p.link.token);
    // another address is not affected
    expect((await a.get(`/a/${p.link.token}`).set('X-Forwarded-For', '203.0.113.11')).status).toBe(200);
  });

  it('limits GET /a/{token} too', async () => {
    const a = agent(t);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await a.get(`/a/some-token-value-${i}`).set('X-Forwarded-For', '203.0.113.20')).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
  });

  it('does not limit the logged-in pages that way', async () => {
    const p = await seedPortal(t);
    const a = await login(t, p);
    for (let i = 0; i < 70; i++) expect((await a.get('/dividas')).status).toBe(200);
    for (let i = 0; i < 70; i++) expect((await a.get('/privacidade')).status).toBe(200);
  });
});
