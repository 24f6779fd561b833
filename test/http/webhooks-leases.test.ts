// A delivery's lease is physical time, on the database's clock: moving the business clock
// (POST /api/v1/admin/clock) neither hands a try in flight to a second worker nor keeps a
// dead worker's rows from being taken over once its lease has really run out.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import { claimDue } from '../../src/modules/webhooks/webhooks.queue.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { deliveryRow, emitImportCompleted, startReceiver, testDispatcher, type Receiver } from '../helpers/webhook-receiver.js';

const MINUTE = 60_000;
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let t: TestApp;
let c: SeededCreditor;
let receiver: Receiver;
let workerA: ReturnType<typeof testDispatcher>;
let workerB: ReturnType<typeof testDispatcher>;

beforeAll(async () => {
  // A business clock a day ahead of real time, as after an admin move.
  t = await buildTestApp({ now: new Date(Date.now() + 24 * 60 * MINUTE) });
  c = await seedCreditor(t);
  receiver = await startReceiver();
  const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url });
  expect(res.status).toBe(201);
  workerA = testDispatcher(t, { timeoutMs: 10_000, workerId: 'worker-a' });
  workerB = testDispatcher(t, { timeoutMs: 10_000, workerId: 'worker-b' });
});
afterAll(async () => {
  workerA?.dispatcher.close();
  workerB?.dispatcher.close();
  await receiver?.close();
  await t?.close();
});
afterEach(() => {
  receiver.received.length = 0;
  receiver.respond(() => ({ status: 200, body: 'ok' }));
});

const emit = (tag: string) => emitImportCompleted(t, c.creditorId, tag);
const deliveryOf = (eventId: string) => deliveryRow(t, eventId);

async function setClock(now: Date | null): Promise<void> {
  const res = await t.request.post('/api/v1/admin/clock').set(admin).send({ now: now?.toISOString() ?? null });
  expect(res.status).toBe(200);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A worker that claimed the delivery under a short lease and died before sending it. */
async function claimAndDie(eventId: string, leaseMs: number): Promise<void> {
  const claimed = await claimDue(t.database.db, { now: t.clock.now(), leaseMs, workerId: 'worker-dead', limit: 10 });
  expect(claimed.map((d) => d.eventId)).toEqual([eventId]);
}

describe('delivery leases', () => {
  it('a try in flight keeps its lease when the admin clock moves forward', async () => {
    receiver.respond(() => ({ status: 200, delayMs: 1_500 }));
    const id = await emit('in_flight');
    const sending = workerA.run();
    await until(() => receiver.received.length === 1, 10_000, 'worker A to be sending');

    await setClock(new Date(t.clock.now().getTime() + 10 * MINUTE));
    expect(await workerB.run()).toBe(0);

    expect(await sending).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(await deliveryOf(id)).toMatchObject({ status: 'succeeded', attempts: 1, lockedUntil: null, claimedBy: null });
  });

  it('a dead worker\'s lease is taken over when it runs out in real time, not when the business clock says', async () => {
    const id = await emit('dead_worker');
    await claimAndDie(id, 1_000);

    await setClock(new Date(t.clock.now().getTime() + 10 * MINUTE));
    expect(await workerB.run()).toBe(0);
    expect(receiver.received).toHaveLength(0);
    expect((await deliveryOf(id)).claimedBy).toBe('worker-dead');

    await new Promise((r) => setTimeout(r, 1_200));
    expect(await workerB.run()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(await deliveryOf(id)).toMatchObject({ status: 'succeeded', attempts: 2, claimedBy: null });
  });

  it('a dead worker\'s lease still runs out after the admin clock moves back', async () => {
    const id = await emit('clock_back');
    await claimAndDie(id, 1_000);

    await setClock(null); // back to real time, a day and more behind
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await workerB.run()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(await deliveryOf(id)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('deleting an endpoint leaves a try in flight to its worker, however far the clock moved', async () => {
    const other = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url, events: ['import.completed'] });
    expect(other.status).toBe(201);
    receiver.respond(() => ({ status: 200, delayMs: 1_500 }));
    const id = await emit('deleted_endpoint');
    const sending = workerA.run();
    await until(() => receiver.received.length === 2, 10_000, 'worker A to be sending to both endpoints');

    await setClock(new Date(t.clock.now().getTime() + 10 * MINUTE));
    const deleted = await t.request.delete(`/api/v1/webhook-endpoints/${other.body.id as string}`).set(c.auth);
    expect(deleted.status).toBe(204);
    const [leased] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, other.body.id as string));
    expect(leased).toMatchObject({ eventId: id, status: 'pending', claimedBy: 'worker-a' });

    expect(await sending).toBe(2);
    // Recorded by its worker: the endpoint is gone, and the try it made is kept as history.
    const [done] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, other.body.id as string));
    expect(done).toMatchObject({ status: 'succeeded', claimedBy: null });
  });
});
