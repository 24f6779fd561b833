// Access tokens and portal sessions are not interchangeable, and no token the app did not
// sign for the creditor API opens it (CONTRACT §4.2, §6.2). admin-auth.test.ts already
// covers alg none, HS512, another key, expiry, nbf, a missing exp, a tampered payload, a
// wrong aud or typ, a foreign cid and a revoked credential; this file adds what it does not.
import { createHmac, createSign, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/ids.js';
import { SESSION_COOKIE } from '../../src/modules/portal/session.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { agent, openLink, seedPortal, type Portal } from './portal-helpers.js';

const AUDIENCE = 'quita:creditor-api';
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | Buffer): string {
  const data = `${b64url(header)}.${b64url(payload)}`;
  return `${data}.${createHmac('sha256', key).update(data).digest('base64url')}`;
}

function expect401(res: Response, what: string): void {
  expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(401);
  expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  expect(res.headers['www-authenticate'], what).toMatch(/^Bearer/);
}

let t: TestApp;
let p: Portal;
let appKey: string;
let debtorCookie: string;
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: p.creditor.creditorId,
  cid: p.creditor.clientId,
  typ: 'creditor',
  aud: AUDIENCE,
  iat: nowSeconds() - 5,
  exp: nowSeconds() + 600,
  ...extra,
});
const profileWith = (token: string) => t.request.get('/api/v1/profile').set('Authorization', `Bearer ${token}`);

beforeAll(async () => {
  t = await buildTestApp();
  appKey = sha256(`creditor-api:${t.config.secretKey}`);
  p = await seedPortal(t);
  const opened = await openLink(agent(t), p.link.token, p.cpf);
  expect(opened.status).toBe(303);
  // The debtor's session cookie, as the browser holds it.
  const setCookie = ([] as string[]).concat(opened.headers['set-cookie'] ?? []);
  debtorCookie = new RegExp(`^${SESSION_COOKIE}=([^;]+)`).exec(setCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '')?.[1] ?? '';
  expect(debtorCookie.length).toBeGreaterThanOrEqual(40);
});
afterAll(async () => t?.close());

describe('creditor access tokens', () => {
  it('the control: a token crafted with the app’s key and claims opens the API', async () => {
    const res = await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims(), appKey));
    expect(res.status).toBe(200);
  });

  it('refuses asymmetric algorithms, whether the signature is garbage or made with a key of the caller’s', async () => {
    for (const alg of ['RS256', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA']) {
      const forged = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims())}.${randomBytes(alg.startsWith('ES') ? 64 : 256).toString('base64url')}`;
      expect401(await profileWith(forged), `${alg} with a random signature`);
    }
    // A real RS256 signature by the attacker's key, the public key offered in the header (jwk) or by URL (jku).
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    for (const header of [
      { alg: 'RS256', typ: 'JWT' },
      { alg: 'RS256', typ: 'JWT', jwk },
      { alg: 'RS256', typ: 'JWT', jku: 'https://attacker.example.com/jwks.json', kid: 'attacker' },
    ]) {
      const data = `${b64url(header)}.${b64url(claims())}`;
      const signature = createSign('RSA-SHA256').update(data).sign(privateKey).toString('base64url');
      expect401(await profileWith(`${data}.${signature}`), JSON.stringify(Object.keys(header)));
    }
    // Algorithm confusion: HS256 keyed with the attacker's public key (PEM), as a verifier that took "the key" from the header would.
    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT', jwk }, claims(), pem)), 'HS256 keyed with an offered public key');
  });

  it('refuses HS256 with an empty key, a kid pointing elsewhere, or the raw SECRET_KEY', async () => {
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims(), '')), 'empty key');
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT', kid: '../../../../dev/null' }, claims(), '')), 'kid to /dev/null');
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims(), t.config.secretKey)), 'the raw SECRET_KEY');
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims(), sha256(`cookie:${t.config.secretKey}`))), 'the cookie-signing key');
  });

  it('refuses an audience list without ours, a missing typ, and a creditor or credential that does not exist', async () => {
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims({ aud: ['quita:portal', 'quita:admin'] }), appKey)), 'aud list');
    const { typ: _typ, ...noTyp } = claims();
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, noTyp, appKey)), 'no typ');
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims({ sub: randomUUID() }), appKey)), 'unknown creditor');
    expect401(await profileWith(hs256({ alg: 'HS256', typ: 'JWT' }, claims({ cid: 'qc_never_issued' }), appKey)), 'unknown credential');
    // One bit of the signature flipped (not its last character: base64url's spare bits would leave the bytes as they are).
    const good = hs256({ alg: 'HS256', typ: 'JWT' }, claims(), appKey);
    const signature = Buffer.from(good.slice(good.lastIndexOf('.') + 1), 'base64url');
    signature[7]! ^= 0x01;
    expect401(await profileWith(`${good.slice(0, good.lastIndexOf('.'))}.${signature.toString('base64url')}`), 'altered signature');
  });

  it('is taken only from the Authorization header: not from the query, a cookie or another header', async () => {
    const token = p.creditor.token;
    expect401(await t.request.get(`/api/v1/profile?access_token=${token}`), 'query');
    expect401(await t.request.get('/api/v1/profile').set('Cookie', `token=${token}; access_token=${token}; ${SESSION_COOKIE}=${token}`), 'cookie');
    expect401(await t.request.get('/api/v1/profile').set('X-Access-Token', token), 'X-Access-Token');
    expect401(await t.request.get('/api/v1/profile').set('Authorization', `Token ${token}`), 'Token scheme');
    expect401(await t.request.get('/api/v1/profile').set('Authorization', `Bearer ${ADMIN_TOKEN}`), 'the admin token');
  });
});

describe('portal sessions and access tokens are not interchangeable', () => {
  it('a debtor session cookie is not a bearer token, nor a session on the API', async () => {
    expect401(await profileWith(debtorCookie), 'session cookie as bearer');
    expect401(await t.request.get('/api/v1/debts').set('Authorization', `Bearer ${debtorCookie}`), 'session cookie as bearer on debts');
    expect401(await t.request.get('/api/v1/debts').set('Cookie', `${SESSION_COOKIE}=${debtorCookie}`), 'session cookie on the API');
    expect401(await t.request.get('/api/v1/agreements').set('Cookie', `${SESSION_COOKIE}=${debtorCookie}`), 'session cookie on agreements');
    // The link token is no bearer token either.
    expect401(await profileWith(p.link.token), 'link token as bearer');
    // The cookie is still a good session: the refusals above were about where it was used.
    const page = await agent(t).get('/dividas').set('Cookie', `${SESSION_COOKIE}=${debtorCookie}`);
    expect(page.status).toBe(200);
  });

  it('a creditor access token is no portal session: the portal treats it as none', async () => {
    for (const [what, headers] of [
      ['as the session cookie', { Cookie: `${SESSION_COOKIE}=${p.creditor.token}` }],
      ['as a bearer token', { Authorization: `Bearer ${p.creditor.token}` }],
      ['both', { Cookie: `${SESSION_COOKIE}=${p.creditor.token}`, Authorization: `Bearer ${p.creditor.token}` }],
      ['a token-shaped cookie of the right length', { Cookie: `${SESSION_COOKIE}=${randomBytes(32).toString('base64url')}` }],
    ] as const) {
      for (const path of ['/dividas', `/ofertas?debts=${p.debts[0]!.id}`, '/acordos/00000000-0000-4000-8000-000000000000']) {
        const res = await agent(t).get(path).set(headers);
        expect(res.status, `${what} ${path}`).toBe(401);
        expect(res.text, `${what} ${path}`).toContain('Sessão encerrada');
        expect(res.text).not.toContain('Mensalidade');
        expect(res.text).not.toContain(p.cpf.slice(3, 9));
      }
      const privacy = await agent(t).get('/privacidade').set(headers);
      expect(privacy.status).toBe(200);
      expect(privacy.text, what).not.toContain('Sair');
    }
  });
});
