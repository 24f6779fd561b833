// Webhook history is kept WEBHOOK_RETENTION_DAYS (90 by default) on the business clock,
// by the webhook-retention job: finished history goes, nothing pending or retrying does.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import { JOBS } from '../../src/jobs/runner.js';
import { createWebhookRetentionJob, webhookRetentionJob } from '../../src/jobs/webhook-retention.js';
import type { Config } from '../../src/config.js';
import { emitEvent } from '../../src/modules/webhooks/webhooks.events.js';
import { createWebhookRepository } from '../../src/modules/webhooks/webhooks.repository.js';
import { buildTestApp, testConfig, type TestApp } from '../helpers/app.js';
import { usingPostgres } from '../helpers/db.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { startReceiver, testDispatcher, type Receiver } from '../helpers/webhook-receiver.js';

const DAY = 24 * 3600 * 1000;

let t: TestApp;
let c: SeededCreditor;
let receiver: Receiver;
let dispatcher: ReturnType<typeof testDispatcher>;

beforeAll(async () => {
  t = await buildTestApp();
  c = await seedCreditor(t);
  receiver = await startReceiver();
  // Tries of the event tagged imp_retry fail; every other one is delivered.
  receiver.respond((hit) => ({ status: hit.body.includes('imp_retry') ? 500 : 200 }));
  dispatcher = testDispatcher(t);
});
afterAll(async () => {
  dispatcher?.dispatcher.close();
  await receiver?.close();
  await t?.close();
});

// Two statements' worth of each kind below, so that the job has to go on batching.
const retention = createWebhookRetentionJob({ batchSize: 2 });
const run = (config: Partial<Config> = {}) => retention.run({ database: t.database, clock: t.clock, config: { ...t.config, ...config }, log: t.app.log });

async function emitImport(creditor: SeededCreditor, tag: string): Promise<string> {
  const at = t.clock.now();
  const data = { id: `imp_${tag}`, status: 'completed' as const, dry_run: false, rows_total: 1, rows_imported: 1, rows_rejected: 0, created_at: at.toISOString(), finished_at: at.toISOString() };
  return (await emitEvent(t.database.db, { creditorId: creditor.creditorId, type: 'import.completed', data, at })).id;
}

async function emitOverdue(): Promise<string> {
  const data = { agreement_id: 'agr_1', parcel: { number: 2, due_date: '2026-11-20', amount_cents: 10_000, status: 'overdue' as const, paid_at: null } };
  return (await emitEvent(t.database.db, { creditorId: c.creditorId, type: 'parcel.overdue', data, at: t.clock.now() })).id;
}

async function endpoint(body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url, ...body });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** The tries GET /api/v1/events/{id} shows, or null when the event is gone (404). */
async function triesOf(eventId: string, creditor = c): Promise<number[] | null> {
  const res = await t.request.get(`/api/v1/events/${eventId}`).set(creditor.auth);
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return (res.body.deliveries as { attempt: number }[]).map((d) => d.attempt);
}

async function listed(): Promise<string[]> {
  const res = await t.request.get('/api/v1/events?limit=500').set(c.auth);
  expect(res.status).toBe(200);
  return (res.body.data as { id: string }[]).map((e) => e.id).sort();
}

async function deliveriesOf(creditor: SeededCreditor): Promise<{ status: string }[]> {
  return t.database.db.select({ status: webhookDeliveries.status }).from(webhookDeliveries).where(eq(webhookDeliveries.creditorId, creditor.creditorId));
}

const moveTo = (at: number) => t.clock.set(new Date(at));

describe('webhook retention', () => {
  it('is a job the runner runs, kept 90 days unless WEBHOOK_RETENTION_DAYS says otherwise', () => {
    expect(JOBS).toContain(webhookRetentionJob);
    expect(t.config.webhookRetentionDays).toBe(90);
    expect(testConfig({}, { WEBHOOK_RETENTION_DAYS: '30' }).webhookRetentionDays).toBe(30);
    for (const bad of ['0', '-1', '1.5', 'ninety']) {
      expect(() => testConfig({}, { WEBHOOK_RETENTION_DAYS: bad }), bad).toThrow(/WEBHOOK_RETENTION_DAYS/);
    }
  });

  it('drops finished events and tries past the window, never anything pending', async () => {
    const start = t.clock.now().getTime();
    await endpoint();
    const overdueOnly = await endpoint({ events: ['parcel.overdue'] });
    const lonely = await seedCreditor(t); // no endpoint: its events have no delivery at all

    const delivered = await emitImport(c, 'delivered');
    const mixed = await emitOverdue(); // delivered to one endpoint, failed for the other
    const retrying = await emitImport(c, 'retry');
    const redelivered = await emitImport(c, 'redelivered');
    const undelivered = await emitImport(lonely, 'nobody_listens');
    expect((await t.request.delete(`/api/v1/webhook-endpoints/${overdueOnly}`).set(c.auth)).status).toBe(204);
    await dispatcher.run();
    expect(await triesOf(mixed)).toEqual([1]);
    expect(await triesOf(retrying)).toEqual([1]);

    // 60 days on, a newer event; 80 days on, one of the first redelivered by hand. The
    // failing one is tried again each time: it stays pending throughout.
    moveTo(start + 60 * DAY);
    const recent = await emitImport(c, 'recent');
    await dispatcher.run();
    moveTo(start + 80 * DAY);
    expect((await t.request.post(`/api/v1/events/${redelivered}/redeliver`).set(c.auth).send({})).status).toBe(202);
    await dispatcher.run();
    expect(await triesOf(redelivered)).toEqual([1, 2]);
    expect(await triesOf(retrying)).toEqual([1, 2, 3]);

    // 89 days on: everything is inside the window.
    moveTo(start + 89 * DAY);
    expect(await run()).toBe(0);
    expect(await listed()).toEqual([delivered, mixed, retrying, redelivered, recent].sort());

    // 91 days on: three tries, the three deliveries of two events, and three events go.
    moveTo(start + 91 * DAY);
    expect(await run()).toBe(3 + 3 + 3);
    expect(await triesOf(delivered)).toBeNull();
    expect(await triesOf(mixed)).toBeNull();
    expect(await triesOf(undelivered, lonely)).toBeNull();
    expect(await listed()).toEqual([retrying, redelivered, recent].sort());
    // Still retrying: the delivery and all its tries stay, however old.
    expect(await triesOf(retrying)).toEqual([1, 2, 3]);
    const [pending] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, retrying));
    expect(pending).toMatchObject({ status: 'pending', attempts: 3 });
    // Redelivered within the window: the event stays, its try from before the window goes.
    expect(await triesOf(redelivered)).toEqual([2]);
    expect(await triesOf(recent)).toEqual([1]);
    expect((await deliveriesOf(c)).map((d) => d.status).sort()).toEqual(['pending', 'succeeded', 'succeeded']);
    expect(await deliveriesOf(lonely)).toEqual([]);
    expect(await run()).toBe(0);

    // A shorter window, from the config: all but the pending one go.
    moveTo(start + 122 * DAY);
    expect(await run()).toBe(0);
    expect(await run({ webhookRetentionDays: 30 })).toBe(2 + 2 + 2);
    expect(await listed()).toEqual([retrying]);
    expect(await triesOf(retrying)).toEqual([1, 2, 3]);
  });

  // Concurrency needs a second connection: PostgreSQL only.
  it.skipIf(!usingPostgres)('skips an event that a redelivery under way has locked, without waiting for it', async () => {
    const lonely = await seedCreditor(t);
    const id = await emitImport(lonely, 'being_redelivered');
    moveTo(t.clock.now().getTime() + 91 * DAY);
    let locked!: () => void;
    let release!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const redelivery = t.database.db.transaction(async (tx) => {
      expect(await createWebhookRepository(tx).lockEvent(lonely.creditorId, id)).toBeDefined();
      locked();
      await held;
    });
    await isLocked;
    try {
      expect(await run()).toBe(0);
    } finally {
      release();
      await redelivery;
    }
    expect(await triesOf(id, lonely)).toEqual([]);
    expect(await run()).toBe(1);
    expect(await triesOf(id, lonely)).toBeNull();
  });
});
