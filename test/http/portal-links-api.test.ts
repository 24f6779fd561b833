// POST /api/v1/links and DELETE /api/v1/links/{id} (CONTRACT §4.5).
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debtorLinks, debtors } from '../../src/db/schema/index.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor } from '../helpers/seed.js';
import { agent, chooseAndConfirm, insertDebts, login, newCpf, offersPage, openLink, seedPortal, rowsOf } from './portal-helpers.js';

let t: TestApp;
const START = new Date('2026-11-23T12:00:00-03:00');
beforeAll(async () => {
  t = await buildTestApp({ now: START });
});
afterAll(async () => t.close());

describe('POST /api/v1/links', () => {
  it('answers 201 with the id, a PUBLIC_URL link with a ≥128-bit token, and the expiry (default 720 h)', async () => {
    const c = await seedCreditor(t);
    const cpf = newCpf();
    await insertDebts(t, c.creditorId, cpf, [{}]);
    const res = await t.request.post('/api/v1/links').set(c.auth).send({ cpf: cpf.replace(/^(\d{3})(\d{3})(\d{3})(\d{2})$/, '$1.$2.$3-$4') });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['expires_at', 'id', 'url']);
    const m = /^http:\/\/quita\.test\/a\/([A-Za-z0-9_-]+)$/.exec(res.body.url);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Math.abs(new Date(res.body.expires_at).getTime() - (t.clock.now().getTime() + 720 * 3600_000))).toBeLessThan(60_000);
    const [debtor] = await t.database.db.select().from(debtors).where(eq(debtors.cpf, cpf));
    expect(debtor).toBeDefined();
    // Only a hash of the token is kept, anywhere in the database.
    const [{ hits }] = (await rowsOf<{ hits: number }>(t, sql`SELECT count(*)::int AS hits FROM debtor_links WHERE token_hash = ${m![1]!}`)) as [{ hits: number }];
    expect(hits).toBe(0);
  });

  it('honours ttl_hours', async () => {
    const p = await seedPortal(t);
    const res = await t.request.post('/api/v1/links').set(p.creditor.auth).send({ cpf: p.cpf, ttl_hours: 2 });
    expect(res.status).toBe(201);
    expect(Math.abs(new Date(res.body.expires_at).getTime() - (t.clock.now().getTime() + 2 * 3600_000))).toBeLessThan(60_000);
  });

  it('replays the same link for the same Idempotency-Key, without storing the token', async () => {
    const p = await seedPortal(t);
    const first = await t.request.post('/api/v1/links').set(p.creditor.auth).set('Idempotency-Key', 'link-1').send({ cpf: p.cpf });
    const again = await t.request.post('/api/v1/links').set(p.creditor.auth).set('Idempotency-Key', 'link-1').send({ cpf: p.cpf });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const token = (first.body.url as string).split('/a/')[1]!;
    const rows = await rowsOf<{ body: string }>(t, sql`SELECT response_body::text AS body FROM idempotency_keys WHERE key = 'link-1'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.body).not.toContain(token);
    const links = await t.database.db.select().from(debtorLinks).where(eq(debtorLinks.cpf, p.cpf));
    expect(links).toHaveLength(2); // the seed's and this one, made once
    // and the replayed URL opens the portal
    expect((await openLink(agent(t), token, p.cpf)).status).toBe(303);
  });

  it('answers 404 when the creditor has no open debt or live agreement for the CPF', async () => {
    const c = await seedCreditor(t);
    const other = await seedCreditor(t);
    const cpf = newCpf();
    await insertDebts(t, other.creditorId, cpf, [{}]);
    await insertDebts(t, c.creditorId, cpf, [{ status: 'settled' }, { status: 'withdrawn' }, { daysOverdue: 6 * 366 }]);
    expect((await t.request.post('/api/v1/links').set(c.auth).send({ cpf })).status).toBe(404);
    expect((await t.request.post('/api/v1/links').set(c.auth).send({ cpf: newCpf() })).status).toBe(404);
  });

  it('makes a link for a CPF whose only debts are in a live agreement', async () => {
    const p = await seedPortal(t, [{}]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    expect((await chooseAndConfirm(a, offers[0]!)).status).toBe(303);
    expect((await t.request.post('/api/v1/links').set(p.creditor.auth).send({ cpf: p.cpf })).status).toBe(201);
  });

  it('answers 422 for an invalid CPF and for unknown fields', async () => {
    const c = await seedCreditor(t);
    const bad = await t.request.post('/api/v1/links').set(c.auth).send({ cpf: '123.456.789-00' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe('cpf');
    expect(JSON.stringify(bad.body)).not.toContain('12345678900');
    expect((await t.request.post('/api/v1/links').set(c.auth).send({ cpf: '11111111111' })).status).toBe(422);
    expect((await t.request.post('/api/v1/links').set(c.auth).send({ cpf: newCpf(), extra: 1 })).status).toBe(422);
  });

  it('needs a creditor token', async () => {
    expect((await t.request.post('/api/v1/links').send({ cpf: newCpf() })).status).toBe(401);
  });
});

describe('DELETE /api/v1/links/{id}', () => {
  it('revokes the link (204); another creditor gets 404', async () => {
    const p = await seedPortal(t);
    const other = await seedCreditor(t);
    expect((await t.request.delete(`/api/v1/links/${p.link.id}`).set(other.auth)).status).toBe(404);
    expect((await t.request.delete('/api/v1/links/not-a-uuid').set(p.creditor.auth)).status).toBe(404);
    expect((await t.request.delete(`/api/v1/links/${p.link.id}`).set(p.creditor.auth)).status).toBe(204);
    expect((await t.request.delete(`/api/v1/links/${p.link.id}`).set(p.creditor.auth)).status).toBe(204);
    expect((await openLink(agent(t), p.link.token, p.cpf)).status).toBe(401);
  });
});

describe('link expiry', () => {
  it('does not expire while an agreement made through it is pending or active', async () => {
    const p = await seedPortal(t, [{}, {}]);
    const a = await login(t, p);
    const { offers } = await offersPage(a, [p.debts[0]!.id]);
    expect((await chooseAndConfirm(a, offers[0]!)).status).toBe(303);
    const other = await seedPortal(t, [{}]);
    await t.database.db.update(debtorLinks).set({ expiresAt: new Date(START.getTime() - 1000) }).where(eq(debtorLinks.id, p.link.id));
    await t.database.db.update(debtorLinks).set({ expiresAt: new Date(START.getTime() - 1000) }).where(eq(debtorLinks.id, other.link.id));
    expect((await openLink(agent(t), p.link.token, p.cpf)).status).toBe(303);
    expect((await openLink(agent(t), other.link.token, other.cpf)).status).toBe(401);
  });
});
