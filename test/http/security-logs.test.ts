// CONTRACT §9 and §2: logs never hold a whole CPF, a link token, a secret, a cookie or an
// Authorization header, whether in a body, a header or a URL; nor do the URLs the portal
// redirects to. A tour of the whole app (admin, token, profile with a CPF, imports and the
// JSON batch with CPFs, the cpf filter, links, the portal from the CPF to a confirmed
// agreement, webhook secrets and a delivery, a 500 from a closed database) with every log
// line captured at level trace, through the logger options the server itself uses.
import { PassThrough } from 'node:stream';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/app.js';
import { SESSION_COOKIE } from '../../src/modules/portal/session.js';
import { ADMIN_TOKEN, buildTestApp, testConfig, type TestApp } from '../helpers/app.js';
import { waitForImport } from '../helpers/imports.js';
import { creditorBody } from '../helpers/seed.js';
import { startReceiver, testDispatcher, type Receiver } from '../helpers/webhook-receiver.js';
import { agent, chooseAndConfirm, csrfOf, newCpf, offerForms } from './portal-helpers.js';

const formatted = (cpf: string) => `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`;

let t: TestApp;
let receiver: Receiver;
const chunks: string[] = [];
/** Every value that must never be logged, with what it is. */
const secrets = new Map<string, string>();
const locations: string[] = [];
const cpfs: string[] = [];

function keep(what: string, value: string | undefined): void {
  if (value && value.length >= 8) secrets.set(value, what);
}

function track(res: Response): Response {
  if (res.headers.location) locations.push(String(res.headers.location));
  for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
    const [pair] = line.split(';');
    const value = pair!.slice(pair!.indexOf('=') + 1);
    if (value) keep(`cookie ${pair!.slice(0, pair!.indexOf('='))}`, decodeURIComponent(value));
  }
  return res;
}

beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const options = loggerOptions(testConfig(), false) as Record<string, unknown>;
  t = await buildTestApp({ logger: { ...options, level: 'trace', stream } });
  receiver = await startReceiver();
  keep('admin token', ADMIN_TOKEN);
});
afterAll(async () => {
  await receiver?.close();
  await t?.app.close();
});

describe('logs and redirects', () => {
  it('a tour of the whole app logs no CPF, token, secret, cookie or Authorization value', async () => {
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const creditorCpf = newCpf();
    const profileCpf = newCpf();
    const debtorCpf = newCpf();
    const otherCpf = newCpf();
    const strayCpf = newCpf();
    cpfs.push(creditorCpf, profileCpf, debtorCpf, otherCpf, strayCpf);

    // Admin and token, the creditor a person with a CPF.
    const created = track(await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', `k-${creditorCpf}`).send(creditorBody({ document: formatted(creditorCpf), name: 'Maria Credora' })));
    expect(created.status).toBe(201);
    keep('client secret', created.body.client_secret);
    const token = track(await t.request.post('/api/v1/auth/token').send({ client_id: created.body.client_id, client_secret: created.body.client_secret }));
    keep('access token', token.body.access_token);
    const formToken = track(await t.request.post('/api/v1/auth/token').type('form').send({ grant_type: 'client_credentials', client_id: created.body.client_id, client_secret: created.body.client_secret }));
    keep('access token', formToken.body.access_token);
    const auth = { Authorization: `Bearer ${token.body.access_token}` };
    keep('Authorization header', auth.Authorization);
    track(await t.request.post('/api/v1/auth/token').send({ client_id: created.body.client_id, client_secret: `${created.body.client_secret}x` }));
    track(await t.request.get('/api/v1/profile').set('Authorization', `Bearer ${token.body.access_token}x`));
    const extra = track(await t.request.post('/api/v1/credentials').set(auth));
    keep('client secret', extra.body.client_secret);

    // Profile with a CPF document; an invalid one too.
    const profile = (await t.request.get('/api/v1/profile').set(auth)).body as Record<string, unknown>;
    const { id: _id, financial_institution: _fi, ...body } = profile;
    expect(track(await t.request.put('/api/v1/profile').set(auth).send({ ...body, document: formatted(profileCpf) })).status).toBe(200);
    track(await t.request.put('/api/v1/profile').set(auth).send({ ...body, document: `${profileCpf.slice(0, 10)}${(Number(profileCpf[10]) + 1) % 10}` }));

    // Imports with CPFs (raw and multipart, a dry run, rejected rows quoting a CPF), the JSON batch, the cpf filter.
    const csv = `external_id;cpf;nome;email;valor;vencimento;descricao\nD-1;${formatted(debtorCpf)};Ana;;1.000,00;01/09/2026;Mensalidade\nD-2;${debtorCpf};Ana;;500,00;01/06/2026;Matrícula\nD-3;${otherCpf};Bia;${strayCpf};10,00;01/06/2026;\nD-4;${strayCpf.slice(0, 10)};Caio;;${formatted(strayCpf)};01/06/2026;\n`;
    const raw = track(await t.request.post('/api/v1/imports').set(auth).set('content-type', 'text/csv').send(csv));
    expect(raw.status).toBe(202);
    expect((await waitForImport(t, auth, raw.body.id)).status).toBe('completed');
    const multipart = track(await t.request.post('/api/v1/imports?dry_run=true').set(auth).attach('file', Buffer.from(csv), { filename: `carteira-${debtorCpf}.csv`, contentType: 'text/csv' }));
    expect(multipart.status).toBe(202);
    await waitForImport(t, auth, multipart.body.id);
    track(await t.request.get(`/api/v1/imports/${raw.body.id}/errors.csv`).set(auth));
    track(await t.request.put('/api/v1/debts').set(auth).send({ debts: [{ external_id: 'J-1', cpf: formatted(otherCpf), name: 'Bia', amount_cents: 10_000, due_date: '2026-08-01' }, { external_id: 'J-2', cpf: strayCpf.slice(0, 10), name: 'X', email: formatted(strayCpf), amount_cents: 1, due_date: '2026-08-01' }] }));
    for (const q of [debtorCpf, formatted(debtorCpf), `${debtorCpf.slice(0, 10)}0`]) track(await t.request.get(`/api/v1/debts?cpf=${encodeURIComponent(q)}`).set(auth));
    track(await t.request.get('/api/v1/debts/D-1').set(auth));

    // Links: the token.
    const link = track(await t.request.post('/api/v1/links').set(auth).set('Idempotency-Key', `link-${debtorCpf}`).send({ cpf: formatted(debtorCpf) }));
    expect(link.status).toBe(201);
    const linkToken = (link.body.url as string).slice((link.body.url as string).lastIndexOf('/a/') + 3);
    keep('link token', linkToken);
    track(await t.request.post('/api/v1/links').set(auth).set('Idempotency-Key', `link-${debtorCpf}`).send({ cpf: formatted(debtorCpf) }));
    track(await t.request.post('/api/v1/links').set(auth).send({ cpf: strayCpf }));

    // Webhooks: an endpoint's secret, its rotation, and a delivery to a real receiver.
    const endpoint = track(await t.request.post('/api/v1/webhook-endpoints').set(auth).send({ url: receiver.url }));
    keep('webhook secret', endpoint.body.secret);
    const rotated = track(await t.request.post(`/api/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`).set(auth));
    keep('webhook secret', rotated.body.secret);

    // The portal: a wrong CPF, the right one (formatted), debts, offers, confirmation, the agreement.
    const a = agent(t);
    const page = track(await a.get(`/a/${linkToken}`));
    const csrf = csrfOf(page.text);
    track(await a.post(`/a/${linkToken}`).type('form').send({ _csrf: csrf, cpf: formatted(strayCpf) }));
    track(await a.post(`/a/${linkToken}`).type('form').send({ cpf: debtorCpf }));
    track(await a.get(`/a/${linkToken}?cpf=${debtorCpf}`));
    const opened = track(await a.post(`/a/${linkToken}`).type('form').send({ _csrf: csrf, cpf: formatted(debtorCpf) }));
    expect(opened.status).toBe(303);
    const debtsPage = track(await a.get('/dividas'));
    expect(debtsPage.status).toBe(200);
    const ids = [...debtsPage.text.matchAll(/name="debts" value="(\d+)"/g)].map((m) => m[1]);
    const offers = track(await a.get(`/ofertas?${ids.map((id) => `debts=${id}`).join('&')}`));
    const forms = offerForms(offers.text);
    const done = track(await chooseAndConfirm(a, forms[1]!));
    expect(done.status).toBe(303);
    track(await a.get(done.headers.location as string));
    track(await a.get(`${done.headers.location as string}/comprovante`));
    track(await a.get(`${done.headers.location as string}/pagar`));
    // The session cookie and the creditor's token used where they do not belong.
    track(await t.request.get('/api/v1/profile').set('Cookie', `${SESSION_COOKIE}=${[...secrets].find(([, w]) => w === `cookie ${SESSION_COOKIE}`)?.[0]}`));
    track(await agent(t).get('/dividas').set('Cookie', `${SESSION_COOKIE}=${token.body.access_token}`));

    // Deliveries (agreement.created, import.completed) to the receiver, signed with the secrets.
    await testDispatcher(t).run();
    expect(receiver.received.length).toBeGreaterThan(0);

    const logout = track(await a.post('/sair').type('form').send({ _csrf: csrfOf((await a.get('/privacidade')).text) }));
    expect(logout.status).toBe(303);

    // A 500: the database closed under a request that carries a CPF in its query.
    await t.database.close();
    const broken = track(await t.request.get(`/api/v1/debts?cpf=${formatted(debtorCpf)}`).set(auth));
    expect(broken.status).toBe(500);
    track(await agent(t).post(`/a/${linkToken}`).type('form').send({ _csrf: csrf, cpf: debtorCpf }));

    // What was captured.
    const log = chunks.join('');
    const lines = log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.msg === 'request').length).toBeGreaterThan(40);
    expect(lines.some((l) => l.msg === 'unhandled error')).toBe(true);
    expect(lines.some((l) => Number(l.level) < 30), 'trace and debug lines were captured too').toBe(true);
    for (const cpf of cpfs) {
      secrets.set(cpf, 'CPF');
      secrets.set(formatted(cpf), 'formatted CPF');
    }
    expect(secrets.size).toBeGreaterThan(15);
    const found = [...secrets].filter(([value]) => log.includes(value) || log.includes(encodeURIComponent(value))).map(([value, what]) => `${what}: ${value.slice(0, 12)}…`);
    expect(found, found.join('\n')).toEqual([]);
    // A header may be named (a plugin logs a request's headers at trace), its value never.
    expect(log).not.toMatch(/"(authorization|proxy-authorization|cookie|set-cookie)":\s*"(?!\[redacted\]")|quita_sessao=|_csrf=/i);

    // Redirects from the portal hold neither a CPF nor a token.
    expect(locations.length).toBeGreaterThanOrEqual(4);
    for (const location of locations) {
      for (const [value, what] of secrets) expect(location, `${what} in a Location`).not.toContain(value);
      // 11 digits standing alone (a UUID's hex groups may hold long runs of digits).
      expect(location).not.toMatch(/(?<![\da-f])\d{11}(?![\da-f])|\d{3}\.\d{3}\.\d{3}-\d{2}/i);
    }
  });
});
