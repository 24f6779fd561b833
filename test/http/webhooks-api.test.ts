// The creditor-facing webhook API: endpoints, events, redelivery; validation and tenancy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent, EVENT_TYPES, type EventType } from '../../src/modules/webhooks/webhooks.events.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

let t: TestApp;
let a: SeededCreditor;
let b: SeededCreditor;

beforeAll(async () => {
  t = await buildTestApp();
  a = await seedCreditor(t);
  b = await seedCreditor(t);
});
afterAll(async () => t?.close());

const URL_A = 'https://hooks.loja.example.com/quita';

async function emit(c: SeededCreditor, type: EventType = 'parcel.overdue', at = t.clock.now()): Promise<string> {
  const data = { agreement_id: 'agr_1', parcel: { number: 2, due_date: '2026-11-20', amount_cents: 10_000, status: 'overdue' as const, paid_at: null } };
  const { id } = await emitEvent(t.database.db, { creditorId: c.creditorId, type: type as 'parcel.overdue', data, at });
  return id;
}

describe('webhook endpoints', () => {
  it('creates one with a whsec_ secret shown once', async () => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send({ url: URL_A, events: ['agreement.created', 'payment.succeeded'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ url: URL_A, events: ['agreement.created', 'payment.succeeded'], status: 'enabled' });
    expect(res.body.id).toMatch(/^we_/);
    const secret = res.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);

    const list = await t.request.get('/api/v1/webhook-endpoints').set(a.auth);
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(res.body.id);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const one = await t.request.get(`/api/v1/webhook-endpoints/${res.body.id}`).set(a.auth);
    expect(one.status).toBe(200);
    expect(one.body.secret).toBeUndefined();
  });

  it('defaults to every event type', async () => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send({ url: URL_A });
    expect(res.status).toBe(201);
    expect(res.body.events).toEqual([]);
  });

  it.each([
    [{ url: 'ftp://files.example.com/x' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: `https://example.com/${'a'.repeat(2048)}` }, 'url'],
    [{ url: 'https://user:pass@example.com/x' }, 'url'],
    [{}, 'url'],
    [{ url: URL_A, events: ['agreement.created', 'agreement.signed'] }, 'events.1'],
    [{ url: URL_A, colour: 'blue' }, 'colour'],
  ])('refuses %j with 422 naming %s', async (body, path) => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send(body);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('accepts a URL of exactly 2048 characters', async () => {
    const base = 'https://example.com/';
    const res = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send({ url: base + 'a'.repeat(2048 - base.length) });
    expect(res.status).toBe(201);
  });

  it('holds a creditor to 20 endpoints', async () => {
    const c = await seedCreditor(t);
    for (let i = 0; i < 20; i++) expect((await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: `${URL_A}/${i}` })).status).toBe(201);
    const over = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: URL_A });
    expect(over.status).toBe(409);
    const first = (await t.request.get('/api/v1/webhook-endpoints?limit=1').set(c.auth)).body.data[0].id as string;
    expect((await t.request.delete(`/api/v1/webhook-endpoints/${first}`).set(c.auth)).status).toBe(204);
    expect((await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: URL_A })).status).toBe(201);
  });

  it('needs a token', async () => {
    expect((await t.request.get('/api/v1/webhook-endpoints')).status).toBe(401);
    expect((await t.request.post('/api/v1/webhook-endpoints').send({ url: URL_A })).status).toBe(401);
  });

  it('answers an Idempotency-Key replay with the first response', async () => {
    const first = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).set('Idempotency-Key', 'ep-1').send({ url: URL_A });
    const again = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).set('Idempotency-Key', 'ep-1').send({ url: URL_A });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
  });

  it('rotates, enables and deletes', async () => {
    const created = await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send({ url: URL_A });
    const id = created.body.id as string;
    const rotated = await t.request.post(`/api/v1/webhook-endpoints/${id}/rotate-secret`).set(a.auth);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.body)).toEqual(['secret']);
    expect(rotated.body.secret).not.toBe(created.body.secret);

    const enabled = await t.request.post(`/api/v1/webhook-endpoints/${id}/enable`).set(a.auth);
    expect(enabled.status).toBe(200);
    expect(enabled.body.status).toBe('enabled');

    expect((await t.request.post(`/api/v1/webhook-endpoints/${id}/enable`).set(a.auth).send({ force: true })).status).toBe(422);

    const deleted = await t.request.delete(`/api/v1/webhook-endpoints/${id}`).set(a.auth);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await t.request.get(`/api/v1/webhook-endpoints/${id}`).set(a.auth)).status).toBe(404);
    expect((await t.request.delete(`/api/v1/webhook-endpoints/${id}`).set(a.auth)).status).toBe(404);
    const list = await t.request.get('/api/v1/webhook-endpoints?limit=500').set(a.auth);
    expect(list.body.data.map((e: { id: string }) => e.id)).not.toContain(id);
  });
});

describe('events', () => {
  it('lists newest first, pages by cursor, filters by type', async () => {
    const c = await seedCreditor(t);
    const base = t.clock.now().getTime();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await emit(c, i % 2 === 0 ? 'parcel.overdue' : 'parcel.due_soon', new Date(base + i * 1000)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: { id: string }[]; next_cursor: string | null } } = await t.request.get('/api/v1/events').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(c.auth);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((e: { id: string }) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const overdue = await t.request.get('/api/v1/events?type=parcel.overdue').set(c.auth);
    expect(overdue.body.data.map((e: { id: string }) => e.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect(overdue.body.data[0]).toEqual({
      id: ids[4],
      type: 'parcel.overdue',
      created_at: new Date(base + 4000).toISOString(),
      data: { agreement_id: 'agr_1', parcel: { number: 2, due_date: '2026-11-20', amount_cents: 10_000, status: 'overdue', paid_at: null } },
    });

    expect((await t.request.get('/api/v1/events?type=agreement.signed').set(c.auth)).status).toBe(422);
    expect((await t.request.get('/api/v1/events?cursor=garbage').set(c.auth)).status).toBe(422);
    expect((await t.request.get('/api/v1/events?limit=501').set(c.auth)).status).toBe(422);
  });

  it('shows an event with its (empty) deliveries', async () => {
    const id = await emit(a);
    const res = await t.request.get(`/api/v1/events/${id}`).set(a.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, type: 'parcel.overdue', deliveries: [] });
  });

  it('exports the contract’s event types', () => {
    expect(EVENT_TYPES).toEqual([
      'agreement.created',
      'agreement.activated',
      'agreement.completed',
      'agreement.broken',
      'agreement.expired',
      'agreement.cancelled',
      'payment.succeeded',
      'payment.failed',
      'parcel.due_soon',
      'parcel.overdue',
      'import.completed',
    ]);
  });
});

describe('redeliver', () => {
  it('queues the event again for every subscribed endpoint, or for one', async () => {
    const c = await seedCreditor(t);
    const all = (await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: URL_A })).body.id as string;
    const payments = (await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: URL_A, events: ['payment.succeeded'] })).body.id as string;
    const overdue = (await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: URL_A, events: ['parcel.overdue'] })).body.id as string;
    const id = await emit(c);
    const res = await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth);
    expect(res.status).toBe(202);
    expect(res.body.event_id).toBe(id);
    expect([...res.body.endpoint_ids].sort()).toEqual([all, overdue].sort());

    const one = await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({ endpoint_id: overdue });
    expect(one.status).toBe(202);
    expect(one.body.endpoint_ids).toEqual([overdue]);

    const notSubscribed = await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({ endpoint_id: payments });
    expect(notSubscribed.status).toBe(409);
    expect((await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({ endpoint_id: 'we_nope' })).status).toBe(404);
    expect((await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({ endpoint_id: all, extra: 1 })).status).toBe(422);
  });

  it('says so when no endpoint would receive it', async () => {
    const c = await seedCreditor(t);
    const id = await emit(c);
    expect((await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth)).status).toBe(409);
  });
});

describe('tenancy', () => {
  it("answers 404 for another creditor's endpoint or event", async () => {
    const ep = (await t.request.post('/api/v1/webhook-endpoints').set(a.auth).send({ url: URL_A })).body.id as string;
    const ev = await emit(a);
    const asB = [
      t.request.get(`/api/v1/webhook-endpoints/${ep}`).set(b.auth),
      t.request.delete(`/api/v1/webhook-endpoints/${ep}`).set(b.auth),
      t.request.post(`/api/v1/webhook-endpoints/${ep}/rotate-secret`).set(b.auth),
      t.request.post(`/api/v1/webhook-endpoints/${ep}/enable`).set(b.auth),
      t.request.get(`/api/v1/events/${ev}`).set(b.auth),
      t.request.post(`/api/v1/events/${ev}/redeliver`).set(b.auth),
    ];
    for (const res of await Promise.all(asB)) expect(res.status).toBe(404);

    const bEndpoint = (await t.request.post('/api/v1/webhook-endpoints').set(b.auth).send({ url: URL_A })).body.id as string;
    expect((await t.request.post(`/api/v1/events/${ev}/redeliver`).set(a.auth).send({ endpoint_id: bEndpoint })).status).toBe(404);

    const bList = await t.request.get('/api/v1/webhook-endpoints?limit=500').set(b.auth);
    expect(bList.body.data.map((e: { id: string }) => e.id)).not.toContain(ep);
    const bEvents = await t.request.get('/api/v1/events?limit=500').set(b.auth);
    expect(bEvents.body.data.map((e: { id: string }) => e.id)).not.toContain(ev);
    // A's endpoint is untouched.
    expect((await t.request.get(`/api/v1/webhook-endpoints/${ep}`).set(a.auth)).status).toBe(200);
  });
});
