// The SSRF guard, on (as in production): refused at registration, and again at delivery
// after DNS, with the connection pinned to the address that was checked.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries, webhookEndpoints } from '../../src/db/schema/index.js';
import { emitEvent } from '../../src/modules/webhooks/webhooks.events.js';
import { postWebhook } from '../../src/modules/webhooks/webhooks.http-client.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { startReceiver, testDispatcher, type Receiver } from '../helpers/webhook-receiver.js';

let t: TestApp;
let c: SeededCreditor;
let receiver: Receiver;

beforeAll(async () => {
  t = await buildTestApp({ config: { webhookAllowPrivateUrls: false } });
  c = await seedCreditor(t);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

async function emit(): Promise<string> {
  const data = { agreement_id: 'agr_1', parcel: { number: 1, due_date: '2026-11-20', amount_cents: 5_000, status: 'overdue' as const, paid_at: null } };
  return (await emitEvent(t.database.db, { creditorId: c.creditorId, type: 'parcel.overdue', data, at: t.clock.now() })).id;
}

describe('registration', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://127.0.0.1:8080/hook',
    'https://10.0.0.1/hook',
    'http://172.16.5.4/hook',
    'http://192.168.0.10/hook',
    'http://100.64.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://0.0.0.0/hook',
    'http://[::1]/hook',
    'http://[::]/hook',
    'http://[fe80::1]/hook',
    'http://[fd00::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:a9fe:a9fe]/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://localhost/hook',
    'http://LOCALHOST./hook',
    'http://api.localhost/hook',
    'http://224.0.0.1/hook',
  ])('refuses %s on the url field', async (url) => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'url' })]);
  });

  it('accepts a public name (checked again at delivery)', async () => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: 'https://hooks.example.com/quita' });
    expect(res.status).toBe(201);
    await t.request.delete(`/api/v1/webhook-endpoints/${res.body.id}`).set(c.auth);
  });
});

describe('delivery', () => {
  it('refuses a name that resolves to loopback, without connecting', async () => {
    const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: `http://rebind.example.com:${receiver.port}/hooks` });
    expect(res.status).toBe(201);
    const looked: string[] = [];
    const d = testDispatcher(t, { resolver: async (host) => (looked.push(host), [{ address: '127.0.0.1', family: 4 }]) });
    const id = await emit();
    expect(await d.run()).toBe(1);
    d.dispatcher.close();
    expect(looked).toEqual(['rebind.example.com']);
    expect(receiver.received).toHaveLength(0);
    const detail = await t.request.get(`/api/v1/events/${id}`).set(c.auth);
    expect(detail.body.deliveries).toEqual([expect.objectContaining({ attempt: 1, status_code: null, error: expect.stringMatching(/refused: .*127\.0\.0\.1.*loopback/) })]);
    const [row] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, id));
    expect(row!.status).toBe('pending');
    await t.request.delete(`/api/v1/webhook-endpoints/${res.body.id}`).set(c.auth);
  });

  it('refuses a name when any of its addresses is private', async () => {
    const result = await postWebhook('http://mixed.example.com/x', {}, '{}', {
      timeoutMs: 1_000,
      allowPrivate: false,
      resolver: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '::ffff:10.0.0.1', family: 6 },
      ],
    });
    expect(result.statusCode).toBeNull();
    expect(result.error).toMatch(/refused: .*10\.0\.0\.1/);
  });

  it('refuses a private literal stored before the guard was on (and never connects)', async () => {
    // As if registered by an instance that allowed private URLs.
    const now = t.clock.now();
    await t.database.db.insert(webhookEndpoints).values({ id: 'we_legacy', creditorId: c.creditorId, url: receiver.url, secret: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', createdAt: now, updatedAt: now });
    const d = testDispatcher(t);
    const id = await emit();
    await d.run();
    d.dispatcher.close();
    expect(receiver.received).toHaveLength(0);
    const detail = await t.request.get(`/api/v1/events/${id}`).set(c.auth);
    expect(detail.body.deliveries[0].error).toMatch(/refused: 127\.0\.0\.1 .*loopback/);
  });
});
