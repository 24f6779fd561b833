// CONTRACT §4.1–4.2: the admin bootstrap, client credentials, access tokens, profile and
// credentials, on the real app and database.
import { createHmac } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditors } from '../../src/db/schema/index.js';
import { sha256 } from '../../src/lib/ids.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { cnpjFor, creditorBody, seedCreditor, type SeededCreditor } from '../helpers/seed.js';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const AUDIENCE = 'quita:creditor-api';

function expectProblem(res: Response, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String), errors: expect.any(Array) });
}

function expectFieldError(res: Response, path: string): void {
  expectProblem(res, 422);
  const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path);
  expect(paths, JSON.stringify(res.body.errors)).toContain(path);
}

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT made by hand, so each claim and the key can be chosen. */
function craftToken(payload: Record<string, unknown>, key: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const data = `${b64url(header)}.${b64url(payload)}`;
  return `${data}.${createHmac('sha256', key).update(data).digest('base64url')}`;
}

let t: TestApp;
let appKey: string;
const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  t = await buildTestApp();
  appKey = sha256(`creditor-api:${t.config.secretKey}`);
});
afterAll(async () => t.close());

const profileOf = (c: SeededCreditor) => t.request.get('/api/v1/profile').set(c.auth);

describe('POST /api/v1/admin/creditors', () => {
  it('creates a creditor and its first credential', async () => {
    const body = creditorBody();
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).send(body);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['client_id', 'client_secret', 'creditor_id']);
    expect(res.body.creditor_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.body.client_id).toEqual(expect.any(String));
    expect(res.body.client_secret.length).toBeGreaterThanOrEqual(32);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: res.body.client_id, client_secret: res.body.client_secret });
    expect(token.status).toBe(200);
    const profile = await t.request.get('/api/v1/profile').set('Authorization', `Bearer ${token.body.access_token}`);
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual({
      id: res.body.creditor_id,
      name: body.name,
      document: body.document,
      address: { street: 'Av. Paulista, 1000', city: 'São Paulo', state: 'SP', postal_code: '01310100' },
      email: body.email,
      phone: '1133334444',
      pix_key: 'financeiro@loja.example.com',
      financial_institution: false,
    });
  });

  it('answers 401 without the right admin token', async () => {
    const body = creditorBody();
    for (const auth of [undefined, 'Bearer wrong-admin-token-0123456789', `Bearer ${ADMIN_TOKEN}x`, `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN, 'Bearer ']) {
      const req = t.request.post('/api/v1/admin/creditors');
      if (auth !== undefined) req.set('Authorization', auth);
      const res = await req.send(body);
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const [row] = await t.database.db.select({ n: count() }).from(creditors).where(eq(creditors.document, body.document));
    expect(row!.n).toBe(0);
  });

  it('refuses a creditor token on the admin API', async () => {
    const c = await seedCreditor(t);
    expectProblem(await t.request.post('/api/v1/admin/creditors').set(c.auth).send(creditorBody()), 401);
  });

  it('answers 422 with dotted paths', async () => {
    const post = (body: Record<string, unknown>) => t.request.post('/api/v1/admin/creditors').set(admin).send(body);
    expectFieldError(await post(creditorBody({ document: '11.222.333/0001-82' })), 'document');
    expectFieldError(await post(creditorBody({ document: '111.111.111-11' })), 'document');
    expectFieldError(await post(creditorBody({ document: 'ACME' })), 'document');
    const base = creditorBody();
    expectFieldError(await post({ ...base, address: { ...base.address, postal_code: '1310-100' } }), 'address.postal_code');
    expectFieldError(await post({ ...base, address: { ...base.address, state: 'XX' } }), 'address.state');
    expectFieldError(await post({ ...base, email: 'not-an-email' }), 'email');
    expectFieldError(await post({ ...base, phone: '12345' }), 'phone');
    expectFieldError(await post({ ...base, financial_institution: 'yes' }), 'financial_institution');

    const unknown = await post({ ...base, nickname: 'Loja' });
    expectFieldError(unknown, 'nickname');
    expectFieldError(await post({ ...base, address: { ...base.address, floor: '3' } }), 'address.floor');

    const { name: _name, ...withoutName } = base;
    const missing = await post({ ...withoutName, address: { street: 'Rua A, 1', state: 'SP', postal_code: '01310-100' } });
    expectFieldError(missing, 'name');
    expectFieldError(missing, 'address.city');

    const empty = await t.request.post('/api/v1/admin/creditors').set(admin).send({});
    for (const path of ['name', 'document', 'address', 'email']) expectFieldError(empty, path);

    const [row] = await t.database.db.select({ n: count() }).from(creditors).where(eq(creditors.document, base.document));
    expect(row!.n).toBe(0);
  });

  it('the error messages never echo a CPF', async () => {
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: '529.982.247-24' }));
    expectFieldError(res, 'document');
    expect(JSON.stringify(res.body)).not.toMatch(/529\.?982\.?247-?24/);
  });

  it('answers 409 for a document already taken, however it is written', async () => {
    const document = cnpjFor(42_424);
    expect((await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document }))).status).toBe(201);
    const formatted = `${document.slice(0, 2)}.${document.slice(2, 5)}.${document.slice(5, 8)}/${document.slice(8, 12)}-${document.slice(12)}`;
    for (const again of [document, formatted]) {
      const res = await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: again }));
      expectProblem(res, 409);
    }
    const [row] = await t.database.db.select({ n: count() }).from(creditors).where(eq(creditors.document, document));
    expect(row!.n).toBe(1);
  });

  it('accepts a person with a CPF, stored as 11 digits', async () => {
    const c = await seedCreditor(t, { document: '529.982.247-25', name: 'Maria da Silva' });
    const profile = await profileOf(c);
    expect(profile.body.document).toBe('52998224725');
    expectProblem(await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: '52998224725' })), 409);
  });

  it('accepts an alphanumeric CNPJ, in capitals', async () => {
    const c = await seedCreditor(t, { document: '12.abc.345/01de-35', financial_institution: true });
    const profile = await profileOf(c);
    expect(profile.body.document).toBe('12ABC34501DE35');
    expect(profile.body.financial_institution).toBe(true);
    expectProblem(await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: '12ABC34501DE35' })), 409);
  });
});

describe('POST /api/v1/auth/token', () => {
  let c: SeededCreditor;
  beforeAll(async () => {
    c = await seedCreditor(t);
  });

  it('exchanges a JSON client_id and client_secret for a bearer token', async () => {
    const res = await t.request.post('/api/v1/auth/token').send({ client_id: c.clientId, client_secret: c.clientSecret });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    expect((await t.request.get('/api/v1/profile').set('Authorization', `Bearer ${res.body.access_token}`)).status).toBe(200);
  });

  it('takes the OAuth 2 form with grant_type=client_credentials', async () => {
    const res = await t.request
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=client_credentials&client_id=${encodeURIComponent(c.clientId)}&client_secret=${encodeURIComponent(c.clientSecret)}`);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    const profile = await t.request.get('/api/v1/profile').set('Authorization', `bearer ${res.body.access_token}`);
    expect(profile.status).toBe(200);
    expect(profile.body.id).toBe(c.creditorId);
  });

  it('refuses another grant type', async () => {
    const res = await t.request.post('/api/v1/auth/token').type('form').send({ grant_type: 'password', client_id: c.clientId, client_secret: c.clientSecret });
    expectFieldError(res, 'grant_type');
  });

  it('answers 401 for a wrong secret, an unknown client or another creditor’s secret', async () => {
    const other = await seedCreditor(t);
    for (const body of [
      { client_id: c.clientId, client_secret: `${c.clientSecret}x` },
      { client_id: c.clientId, client_secret: 'qs_wrong' },
      { client_id: 'qc_unknown', client_secret: c.clientSecret },
      { client_id: c.clientId, client_secret: other.clientSecret },
    ]) {
      const res = await t.request.post('/api/v1/auth/token').send(body);
      expectProblem(res, 401);
      expect(JSON.stringify(res.body)).not.toContain(c.clientSecret);
    }
    expectProblem(await t.request.post('/api/v1/auth/token').type('form').send({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: 'nope' }), 401);
  });

  it('answers 401 for a revoked credential', async () => {
    const extra = await t.request.post('/api/v1/credentials').set(c.auth);
    expect(extra.status).toBe(201);
    expect((await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(c.auth)).status).toBe(204);
    expectProblem(await t.request.post('/api/v1/auth/token').send({ client_id: extra.body.client_id, client_secret: extra.body.client_secret }), 401);
  });
});

describe('access tokens', () => {
  let a: SeededCreditor;
  let b: SeededCreditor;
  const claims = (c: SeededCreditor, extra: Record<string, unknown> = {}) => ({
    sub: c.creditorId,
    cid: c.clientId,
    typ: 'creditor',
    aud: AUDIENCE,
    iat: nowSeconds() - 5,
    exp: nowSeconds() + 600,
    ...extra,
  });
  const withToken = (token: string) => t.request.get('/api/v1/profile').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    a = await seedCreditor(t);
    b = await seedCreditor(t);
  });

  it('a token crafted with the app’s key and claims is accepted (the control for the cases below)', async () => {
    const res = await withToken(craftToken(claims(a), appKey));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(a.creditorId);
  });

  it('refuses a missing or malformed Authorization header', async () => {
    expectProblem(await t.request.get('/api/v1/profile'), 401);
    for (const header of ['Bearer', 'Bearer ', `Basic ${a.token}`, a.token, `Bearer ${a.token} extra`, 'Bearer not.a.jwt']) {
      const res = await t.request.get('/api/v1/profile').set('Authorization', header);
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('refuses an expired token', async () => {
    expectProblem(await withToken(craftToken(claims(a, { iat: nowSeconds() - 7200, exp: nowSeconds() - 10 }), appKey)), 401);
    const signed = t.app.jwt.sign({ sub: a.creditorId, cid: a.clientId, typ: 'creditor' }, { expiresIn: 1 });
    expect((await withToken(signed)).status).toBe(200);
    // fast-jwt counts exp from a given iat: issued two hours ago, expired one hour ago.
    const backdated = { sub: a.creditorId, cid: a.clientId, typ: 'creditor' as const, iat: nowSeconds() - 7200 };
    const expired = t.app.jwt.sign(backdated as Parameters<typeof t.app.jwt.sign>[0]);
    expectProblem(await withToken(expired), 401);
  });

  it('refuses a token without an expiry, or one not yet valid', async () => {
    const { exp: _exp, ...noExp } = claims(a);
    // The app never issues one without exp; accepting one would make a leaked token eternal.
    expectProblem(await withToken(craftToken(noExp, appKey)), 401);
    expectProblem(await withToken(craftToken(claims(a, { nbf: nowSeconds() + 600 }), appKey)), 401);
  });

  it('refuses a tampered payload', async () => {
    const [header, , signature] = a.token.split('.');
    const payload = JSON.parse(Buffer.from(a.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${b64url({ ...payload, sub: b.creditorId, cid: b.clientId })}.${signature}`;
    expectProblem(await withToken(tampered), 401);
    const extended = `${header}.${b64url({ ...payload, exp: nowSeconds() + 86_400 * 365 })}.${signature}`;
    expectProblem(await withToken(extended), 401);
  });

  it('refuses a token signed with another key', async () => {
    expectProblem(await withToken(craftToken(claims(a), sha256('creditor-api:another-secret-key-0123456789abcdef'))), 401);
    expectProblem(await withToken(craftToken(claims(a), t.config.secretKey)), 401);
  });

  it('refuses alg none and other algorithms', async () => {
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims(a))}.`;
    expectProblem(await withToken(none), 401);
    expectProblem(await withToken(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims(a))}`), 401);
    const hs512 = (() => {
      const data = `${b64url({ alg: 'HS512', typ: 'JWT' })}.${b64url(claims(a))}`;
      return `${data}.${createHmac('sha512', appKey).update(data).digest('base64url')}`;
    })();
    expectProblem(await withToken(hs512), 401);
  });

  it('refuses a token for another audience or kind, or whose credential is not its creditor’s', async () => {
    expectProblem(await withToken(craftToken(claims(a, { aud: 'quita:portal' }), appKey)), 401);
    const { aud: _aud, ...noAud } = claims(a);
    expectProblem(await withToken(craftToken(noAud, appKey)), 401);
    expectProblem(await withToken(craftToken(claims(a, { typ: 'debtor' }), appKey)), 401);
    expectProblem(await withToken(craftToken(claims(a, { cid: b.clientId }), appKey)), 401);
    expectProblem(await withToken(craftToken(claims(a, { sub: 42 }), appKey)), 401);
  });

  it('a revoked credential takes its tokens with it', async () => {
    const extra = await t.request.post('/api/v1/credentials').set(a.auth);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: extra.body.client_id, client_secret: extra.body.client_secret });
    const bearer = { Authorization: `Bearer ${token.body.access_token}` };
    expect((await t.request.get('/api/v1/profile').set(bearer)).status).toBe(200);
    expect((await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(a.auth)).status).toBe(204);
    expectProblem(await t.request.get('/api/v1/profile').set(bearer), 401);
    expect((await t.request.get('/api/v1/profile').set(a.auth)).status).toBe(200);
  });
});

describe('GET/PUT /api/v1/profile', () => {
  let a: SeededCreditor;
  let b: SeededCreditor;
  beforeAll(async () => {
    a = await seedCreditor(t);
    b = await seedCreditor(t);
  });

  const newProfile = (document: string) => ({
    name: 'Clínica Sorriso Ltda',
    document,
    address: { street: 'Rua das Flores, 50', city: 'Curitiba', state: 'PR', postal_code: '80010000' },
    email: 'cobranca@sorriso.example.com',
  });

  it('PUT replaces the whole profile', async () => {
    const document = cnpjFor(77_001);
    const res = await t.request.put('/api/v1/profile').set(a.auth).send(newProfile(document));
    expect(res.status).toBe(200);
    const expected = {
      id: a.creditorId,
      name: 'Clínica Sorriso Ltda',
      document,
      address: { street: 'Rua das Flores, 50', city: 'Curitiba', state: 'PR', postal_code: '80010000' },
      email: 'cobranca@sorriso.example.com',
      phone: null, // left out, so removed
      pix_key: null,
      financial_institution: false,
    };
    expect(res.body).toEqual(expected);
    expect((await profileOf(a)).body).toEqual(expected);
    const again = await t.request.put('/api/v1/profile').set(a.auth).send({ ...newProfile(document), phone: '+55 (41) 99876-5432', pix_key: '41998765432' });
    expect(again.body).toMatchObject({ phone: '41998765432', pix_key: '41998765432' });
  });

  it('another creditor never sees or changes it', async () => {
    const before = (await profileOf(a)).body;
    const other = await profileOf(b);
    expect(other.body.id).toBe(b.creditorId);
    expect(other.body.name).not.toBe(before.name);
    const put = await t.request.put('/api/v1/profile').set(b.auth).send(newProfile(cnpjFor(77_002)));
    expect(put.status).toBe(200);
    expect(put.body.id).toBe(b.creditorId);
    expect((await profileOf(a)).body).toEqual(before);
  });

  it('answers 409 for another creditor’s document', async () => {
    const taken = (await profileOf(b)).body.document as string;
    const before = (await profileOf(a)).body;
    expectProblem(await t.request.put('/api/v1/profile').set(a.auth).send(newProfile(taken)), 409);
    expect((await profileOf(a)).body).toEqual(before);
  });

  it('validates like the admin API, with dotted paths', async () => {
    const before = (await profileOf(a)).body;
    const put = (body: unknown) => t.request.put('/api/v1/profile').set(a.auth).send(body as object);
    const valid = newProfile(cnpjFor(77_003));
    expectFieldError(await put({ ...valid, document: '123.456.789-00' }), 'document');
    expectFieldError(await put({ ...valid, address: { ...valid.address, postal_code: 'ABCDE-123' } }), 'address.postal_code');
    expectFieldError(await put({ ...valid, financial_institution: true }), 'financial_institution');
    expectFieldError(await put({ ...valid, id: b.creditorId }), 'id');
    const { email: _email, ...noEmail } = valid;
    expectFieldError(await put(noEmail), 'email');
    expectFieldError(await put({ ...valid, name: '   ' }), 'name');
    expect((await profileOf(a)).body).toEqual(before);
  });

  it('needs a token, checked before the body', async () => {
    expectProblem(await t.request.put('/api/v1/profile').send(newProfile(cnpjFor(77_004))), 401);
    expectProblem(await t.request.put('/api/v1/profile').send({ nonsense: true }), 401);
    expectProblem(await t.request.put('/api/v1/profile').set('content-type', 'application/json').send('{not json'), 401);
  });
});

describe('credentials', () => {
  let a: SeededCreditor;
  let b: SeededCreditor;
  beforeAll(async () => {
    a = await seedCreditor(t);
    b = await seedCreditor(t);
  });
  const list = (c: SeededCreditor) => t.request.get('/api/v1/credentials').set(c.auth);

  it('POST creates a new pair that works', async () => {
    const res = await t.request.post('/api/v1/credentials').set(a.auth);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['client_id', 'client_secret']);
    expect(res.body.client_id).not.toBe(a.clientId);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: res.body.client_id, client_secret: res.body.client_secret });
    expect(token.status).toBe(200);
    const profile = await t.request.get('/api/v1/profile').set('Authorization', `Bearer ${token.body.access_token}`);
    expect(profile.body.id).toBe(a.creditorId);
  });

  it('GET lists them without secrets', async () => {
    const res = await list(a);
    expect(res.status).toBe(200);
    const ids = (res.body.data as Array<{ client_id: string }>).map((c) => c.client_id);
    expect(ids).toContain(a.clientId);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const credential of res.body.data) {
      expect(Object.keys(credential).sort()).toEqual(['client_id', 'created_at', 'revoked_at']);
      expect(new Date(credential.created_at).toISOString()).toBe(credential.created_at);
    }
    expect(JSON.stringify(res.body)).not.toContain(a.clientSecret);
    expect(JSON.stringify(res.body)).not.toContain(sha256(a.clientSecret));
    // Only this creditor's.
    expect(ids).not.toContain(b.clientId);
  });

  it('DELETE revokes one; the last one answers 409', async () => {
    const fresh = await seedCreditor(t);
    const extra = await t.request.post('/api/v1/credentials').set(fresh.auth);
    // Revoking the credential behind the token in use is allowed; its tokens die with it.
    expect((await t.request.delete(`/api/v1/credentials/${fresh.clientId}`).set(fresh.auth)).status).toBe(204);
    expectProblem(await t.request.get('/api/v1/profile').set(fresh.auth), 401);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: extra.body.client_id, client_secret: extra.body.client_secret });
    const auth = { Authorization: `Bearer ${token.body.access_token}` };
    const last = await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(auth);
    expectProblem(last, 409);
    expect((await t.request.get('/api/v1/profile').set(auth)).status).toBe(200);
    const listed = await t.request.get('/api/v1/credentials').set(auth);
    const byId = Object.fromEntries((listed.body.data as Array<{ client_id: string; revoked_at: string | null }>).map((c) => [c.client_id, c.revoked_at]));
    expect(byId[fresh.clientId]).toEqual(expect.any(String));
    expect(byId[extra.body.client_id]).toBeNull();
  });

  it('DELETE of another creditor’s, an unknown or an already revoked credential answers 404', async () => {
    const extra = await t.request.post('/api/v1/credentials').set(b.auth);
    expectProblem(await t.request.delete(`/api/v1/credentials/${b.clientId}`).set(a.auth), 404);
    expectProblem(await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(a.auth), 404);
    expect((await t.request.get('/api/v1/profile').set(b.auth)).status).toBe(200);
    expectProblem(await t.request.delete('/api/v1/credentials/qc_unknown').set(a.auth), 404);
    expect((await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(b.auth)).status).toBe(204);
    expectProblem(await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(b.auth), 404);
  });

  it('concurrent revocations never take the last credential', async () => {
    const fresh = await seedCreditor(t);
    const extra = await t.request.post('/api/v1/credentials').set(fresh.auth);
    const results = await Promise.all([
      t.request.delete(`/api/v1/credentials/${fresh.clientId}`).set(fresh.auth),
      t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(fresh.auth),
    ]);
    // One wins; the other finds it would take the last one (409), or, when the first has
    // already finished, that its own token's credential is gone (401).
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(204);
    expect([401, 409]).toContain(statuses[1]);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: extra.body.client_id, client_secret: extra.body.client_secret });
    const original = await t.request.post('/api/v1/auth/token').send({ client_id: fresh.clientId, client_secret: fresh.clientSecret });
    expect([token.status, original.status].sort()).toEqual([200, 401]);
  });

  it('GET pages through them newest first', async () => {
    const fresh = await seedCreditor(t);
    const start = t.clock.now().getTime();
    const created = [fresh.clientId];
    for (let i = 1; i <= 4; i++) {
      t.clock.set(new Date(start + i * 60_000));
      created.push((await t.request.post('/api/v1/credentials').set(fresh.auth)).body.client_id);
    }
    const seen: Array<{ client_id: string; created_at: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await t.request.get('/api/v1/credentials').query(cursor ? { limit: 2, cursor } : { limit: 2 }).set(fresh.auth);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data);
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((c) => c.client_id)).toEqual([...created].reverse());
    const newest = Date.parse(seen[0]!.created_at) - (start + 4 * 60_000); // stamped by the app's clock
    expect(newest).toBeGreaterThanOrEqual(0);
    expect(newest).toBeLessThan(5_000);
    const all = await t.request.get('/api/v1/credentials').set(fresh.auth);
    expect(all.body.next_cursor).toBeNull();
    expect(all.body.data).toHaveLength(5);
    const forged = [[123, fresh.clientId], ['2026-11-23T15:00:00.000Z', 5], ['yesterday', fresh.clientId], ['2026-11-23T15:00:00.000Z', "x' OR 1=1"], { a: 1 }, null].map(
      (payload) => Buffer.from(JSON.stringify(payload)).toString('base64url'),
    );
    for (const query of [{ limit: 0 }, { limit: 501 }, { limit: 'ten' }, { cursor: 'not-a-cursor' }, ...forged.map((cursor) => ({ cursor }))]) {
      expectProblem(await t.request.get('/api/v1/credentials').query(query).set(fresh.auth), 422);
    }
  });

  it('refuses a body on POST', async () => {
    expectFieldError(await t.request.post('/api/v1/credentials').set(a.auth).send({ name: 'ci' }), 'name');
  });

  it('needs a token', async () => {
    expectProblem(await t.request.get('/api/v1/credentials'), 401);
    expectProblem(await t.request.post('/api/v1/credentials'), 401);
    expectProblem(await t.request.delete(`/api/v1/credentials/${a.clientId}`), 401);
  });
});

describe('without ADMIN_TOKEN', () => {
  let bare: TestApp;
  beforeAll(async () => {
    bare = await buildTestApp({ config: { adminToken: undefined } });
  });
  afterAll(async () => bare.close());

  it('every admin route answers 404, whatever the Authorization', async () => {
    for (const auth of [undefined, `Bearer ${ADMIN_TOKEN}`, 'Bearer undefined', 'Bearer ']) {
      for (const [path, body] of [
        ['/api/v1/admin/creditors', creditorBody()],
        ['/api/v1/admin/creditors', {}],
        ['/api/v1/admin/clock', { now: '2027-01-01T00:00:00Z' }],
        ['/api/v1/admin/clock', { now: 'garbage' }],
      ] as const) {
        const req = bare.request.post(path);
        if (auth !== undefined) req.set('Authorization', auth);
        expectProblem(await req.send(body), 404);
      }
    }
    const [row] = await bare.database.db.select({ n: count() }).from(creditors);
    expect(row!.n).toBe(0);
  });
});

describe('POST /api/v1/admin/clock', () => {
  it('moves the clock that the rules read', async () => {
    const moved = await t.request.post('/api/v1/admin/clock').set(admin).send({ now: '2030-01-15T10:00:00-03:00' });
    expect(moved.status).toBe(200);
    expect(moved.body.adjusted).toBe(true);
    expect(Date.parse(moved.body.now) - Date.parse('2030-01-15T13:00:00Z')).toBeGreaterThanOrEqual(0);
    expect(Date.parse(moved.body.now) - Date.parse('2030-01-15T13:00:00Z')).toBeLessThan(5_000);
    // A revocation is stamped with the moved clock.
    const c = await seedCreditor(t);
    const extra = await t.request.post('/api/v1/credentials').set(c.auth);
    expect((await t.request.delete(`/api/v1/credentials/${extra.body.client_id}`).set(c.auth)).status).toBe(204);
    const listed = await t.request.get('/api/v1/credentials').set(c.auth);
    const revoked = (listed.body.data as Array<{ client_id: string; revoked_at: string | null }>).find((x) => x.client_id === extra.body.client_id);
    expect(revoked?.revoked_at?.slice(0, 13)).toBe('2030-01-15T13');

    const back = await t.request.post('/api/v1/admin/clock').set(admin).send({ now: null });
    expect(back.status).toBe(200);
    expect(back.body.adjusted).toBe(false);
    expect(Math.abs(Date.parse(back.body.now) - Date.now())).toBeLessThan(5_000);
  });

  it('validates and needs the admin token', async () => {
    expectFieldError(await t.request.post('/api/v1/admin/clock').set(admin).send({ now: 'tomorrow' }), 'now');
    expectFieldError(await t.request.post('/api/v1/admin/clock').set(admin).send({}), 'now');
    expectProblem(await t.request.post('/api/v1/admin/clock').send({ now: null }), 401);
  });

  it('answers 404 in production, whatever the body', async () => {
    const prod = await buildTestApp({ config: { env: 'production', isProduction: true } });
    try {
      for (const body of [{ now: '2030-01-01T00:00:00Z' }, { now: null }, { now: 'garbage' }, {}]) {
        expectProblem(await prod.request.post('/api/v1/admin/clock').set(admin).send(body), 404);
      }
      expect(prod.clock.now().toISOString()).toMatch(/^2026-11-23T15:/); // where buildTestApp set it
      // Nor is it documented there; the rest of the admin API still works.
      const doc = await prod.request.get('/docs/json');
      expect(Object.keys(doc.body.paths)).not.toContain('/api/v1/admin/clock');
      expect(Object.keys(doc.body.paths)).toContain('/api/v1/admin/creditors');
      expect((await prod.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody())).status).toBe(201);
    } finally {
      await prod.close();
    }
  });
});
