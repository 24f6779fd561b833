// A creditor's receiver down for 28 hours, on a moved clock, with the dispatcher driven
// by the job runner's tick (both drivers). webhooks-delivery.test.ts already follows one
// delivery through the schedule against a receiver that answers 500; this is the outage
// as it happens: the receiver's host takes the connection and drops it, events keep
// coming during the outage, one delivery runs out of tries while the receiver is still
// down, one that began later outlasts the outage and arrives by itself, and the one that
// failed is redelivered by hand — each checked by the receiver with `standardwebhooks`.
import Fastify, { type FastifyInstance } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import { startJobRunner, type JobRunner } from '../../src/jobs/runner.js';
import { RETRY_DELAYS_MS } from '../../src/modules/webhooks/webhooks.backoff.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../src/modules/webhooks/webhooks.dispatcher.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { deliveryRow, emitImportCompleted, verifyAt, type ReceivedWebhook } from '../helpers/webhook-receiver.js';

const HOUR = 3600 * 1000;
const OUTAGE_MS = 28 * HOUR;
/** The whole schedule with no jitter: 5 s + 5 min + 30 min + 2 h + 5 h + 10 h + 10 h = 27 h 35 min 5 s. */
const SCHEDULE_MS = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
/** Real time that may pass between moving the clock to a try's due time and the try itself (a slow, shared machine). */
const SLACK_MS = 60_000;

let t: TestApp;
let c: SeededCreditor;
let secret: string;
let dispatcher: WebhookDispatcher;
let runner: JobRunner;

/**
 * A creditor's receiver on 127.0.0.1. While `down`, its host accepts each connection and
 * drops it at once (no HTTP answer at all); up, it verifies every delivery as a creditor
 * would, on a clock that agrees with the app's, and answers 204, or 400 to a bad signature.
 */
const receiver = {
  down: true,
  droppedConnections: 0,
  received: [] as (ReceivedWebhook & { verified: boolean; payload: { id?: string; type?: string } })[],
  server: undefined as FastifyInstance | undefined,
  url: '',
};

async function startOutageReceiver(): Promise<void> {
  const server = Fastify({ logger: false, forceCloseConnections: true });
  server.server.on('connection', (socket) => {
    if (!receiver.down) return;
    receiver.droppedConnections++;
    socket.destroy();
  });
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  server.post('/hooks', async (request, reply) => {
    const hit: ReceivedWebhook = { headers: request.headers as Record<string, string>, body: request.body as string, receivedAt: Date.now() };
    let payload: { id?: string; type?: string } = {};
    let verified = true;
    try {
      payload = verifyAt(secret, hit, t.clock.now()) as typeof payload;
    } catch {
      verified = false;
    }
    receiver.received.push({ ...hit, verified, payload });
    return reply.code(verified ? 204 : 400).send();
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  receiver.server = server;
  receiver.url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}/hooks`;
}

const emit = (tag: string) => emitImportCompleted(t, c.creditorId, tag);
const deliveryOf = (eventId: string) => deliveryRow(t, eventId);

async function triesOf(eventId: string) {
  const res = await t.request.get(`/api/v1/events/${eventId}`).set(c.auth);
  expect(res.status).toBe(200);
  return (res.body.deliveries as { attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[]).map((d) => ({
    ...d,
    at: new Date(d.at).getTime(),
  }));
}

/** The earliest time a pending delivery of this creditor is due, or null when none is pending. */
async function nextDue(): Promise<number | null> {
  const [row] = await t.database.db
    .select({ next: sql<string | Date | null>`min(${webhookDeliveries.nextAttemptAt})` })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.creditorId, c.creditorId), eq(webhookDeliveries.status, 'pending')));
  return row?.next ? new Date(row.next).getTime() : null;
}

/** The tries were made on time: each one the scheduled delay after the previous one ended (jitter fixed at 0), never before. */
function expectOnSchedule(tries: { attempt: number; at: number; duration_ms: number }[]): void {
  for (let k = 1; k < tries.length; k++) {
    const previous = tries[k - 1]!;
    const late = tries[k]!.at - (previous.at + previous.duration_ms) - RETRY_DELAYS_MS[k - 1]!;
    expect(late, `try ${k + 1}`).toBeGreaterThanOrEqual(0);
    expect(late, `try ${k + 1}`).toBeLessThanOrEqual(SLACK_MS);
  }
}

beforeAll(async () => {
  t = await buildTestApp();
  c = await seedCreditor(t);
  await startOutageReceiver();
  const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url });
  expect(res.status).toBe(201);
  secret = res.body.secret as string;
  // The production dispatcher, with its jitter at the bottom of its range so that the schedule's times are exact.
  dispatcher = createWebhookDispatcher({ timeoutMs: 10_000, random: () => 0 });
  runner = startJobRunner({ database: t.database, clock: t.clock, config: t.config, log: t.app.log }, [dispatcher], { autostart: false });
});

afterAll(async () => {
  await runner?.stop();
  dispatcher?.close();
  await receiver.server?.close();
  await t?.close();
});

describe('a receiver down for 28 hours', () => {
  it('runs the retry schedule out to failed on time, delivers what outlasts the outage, and a redelivery by hand arrives verified', async () => {
    expect(SCHEDULE_MS).toBeLessThan(OUTAGE_MS);
    const start = t.clock.now().getTime();
    const first = await emit('at_start');
    await runner.tick();

    // Step the clock from one due try to the next; two hours in, another event; at 28 h, the receiver is back.
    const secondAt = start + 2 * HOUR;
    const upAt = start + OUTAGE_MS;
    let second: string | undefined;
    for (let step = 0; step < 40; step++) {
      const due = await nextDue();
      const targets = [due, second ? null : secondAt, receiver.down ? upAt : null].filter((v): v is number => v !== null);
      if (targets.length === 0) break;
      const target = Math.min(...targets);
      if (target > t.clock.now().getTime()) t.clock.set(new Date(target));
      if (!second && t.clock.now().getTime() >= secondAt) second = await emit('two_hours_in');
      if (receiver.down && t.clock.now().getTime() >= upAt) receiver.down = false;
      await runner.tick();
    }
    expect(second).toBeDefined();
    expect(receiver.down).toBe(false);
    expect(await nextDue()).toBeNull();

    // The event from the start: 8 tries, every one dropped, on schedule; failed 27 h 35 min in, before the receiver came back.
    const firstTries = await triesOf(first);
    expect(firstTries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(firstTries.every((d) => d.status_code === null && d.error !== null)).toBe(true);
    expectOnSchedule(firstTries);
    const firstDelivery = await deliveryOf(first);
    expect(firstDelivery).toMatchObject({ status: 'failed', nextAttemptAt: null, attempts: 8 });
    const ranOutAfter = firstTries[7]!.at - start;
    expect(ranOutAfter).toBeGreaterThanOrEqual(SCHEDULE_MS);
    expect(ranOutAfter).toBeLessThanOrEqual(SCHEDULE_MS + 8 * SLACK_MS);
    expect(firstTries[7]!.at).toBeLessThan(upAt);

    // The event from two hours in: 7 tries dropped, the 8th (29 h 35 min in) after the receiver was back, verified.
    const secondTries = await triesOf(second!);
    expect(secondTries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(secondTries.slice(0, 7).every((d) => d.status_code === null)).toBe(true);
    expect(secondTries[7]).toMatchObject({ status_code: 204, error: null });
    expect(secondTries[7]!.at).toBeGreaterThanOrEqual(upAt);
    expectOnSchedule(secondTries);
    expect((await deliveryOf(second!)).status).toBe('succeeded');

    // Every dropped try reached the receiver's host; nothing got through while it was down.
    expect(receiver.droppedConnections).toBe(15);
    expect(receiver.received.map((r) => [r.headers['webhook-id'], r.verified])).toEqual([[second, true]]);

    // Redelivered by hand: one more try at once, the same webhook-id, verified by the receiver.
    const redelivered = await t.request.post(`/api/v1/events/${first}/redeliver`).set(c.auth).send({});
    expect(redelivered.status).toBe(202);
    await runner.tick();
    expect(receiver.received).toHaveLength(2);
    const hit = receiver.received[1]!;
    expect(hit.verified).toBe(true);
    expect(hit.headers['webhook-id']).toBe(first);
    expect(hit.payload).toMatchObject({ id: first, type: 'import.completed' });
    expect(await deliveryOf(first)).toMatchObject({ status: 'succeeded', attempts: 9 });
    const all = await triesOf(first);
    expect(all.map((d) => [d.attempt, d.status_code])).toEqual([
      [1, null], [2, null], [3, null], [4, null], [5, null], [6, null], [7, null], [8, null], [9, 204],
    ]);
    expect(Number(hit.headers['webhook-timestamp'])).toBe(Math.floor(all[8]!.at / 1000));
  }, 120_000);
});
