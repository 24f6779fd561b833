// Deliveries end to end: the real app, the real dispatcher, a real receiver checking
// every signature with the `standardwebhooks` package, and a clock the test moves.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import { startJobRunner } from '../../src/jobs/runner.js';
import { RETRY_DELAYS_MS } from '../../src/modules/webhooks/webhooks.backoff.js';
import { emitEvent, type ImportEventData } from '../../src/modules/webhooks/webhooks.events.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { startReceiver, testDispatcher, verifyAt, type Receiver } from '../helpers/webhook-receiver.js';

let t: TestApp;
let receiver: Receiver;
let dispatcher: ReturnType<typeof testDispatcher>;

beforeAll(async () => {
  t = await buildTestApp();
  receiver = await startReceiver();
  dispatcher = testDispatcher(t);
});
afterAll(async () => {
  dispatcher?.dispatcher.close();
  await receiver?.close();
  await t?.close();
});
afterEach(async () => {
  // Each test starts with an empty queue: what an earlier test left retrying stays out of its counts.
  await t.database.db.update(webhookDeliveries).set({ status: 'failed', nextAttemptAt: null }).where(eq(webhookDeliveries.status, 'pending'));
  receiver.received.length = 0;
  receiver.respond(() => ({ status: 200, body: 'ok' }));
});

function importData(id = 'imp_1'): ImportEventData {
  const at = t.clock.now().toISOString();
  return { id, status: 'completed', dry_run: false, rows_total: 3, rows_imported: 2, rows_rejected: 1, created_at: at, finished_at: at };
}

async function emit(c: SeededCreditor, data = importData()): Promise<string> {
  const { id } = await t.database.db.transaction((tx) => emitEvent(tx, { creditorId: c.creditorId, type: 'import.completed', data, at: t.clock.now() }));
  return id;
}

async function endpoint(c: SeededCreditor, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url, ...body });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

async function deliveryOf(eventId: string) {
  const [row] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId));
  return row!;
}

async function attemptsOf(c: SeededCreditor, eventId: string) {
  const res = await t.request.get(`/api/v1/events/${eventId}`).set(c.auth);
  expect(res.status).toBe(200);
  return res.body.deliveries as { endpoint_id: string; attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}

/** Moves the clock to when the delivery is due and runs the dispatcher. */
async function runWhenDue(eventId: string): Promise<void> {
  const row = await deliveryOf(eventId);
  if (row.nextAttemptAt && row.nextAttemptAt > t.clock.now()) t.clock.set(row.nextAttemptAt);
  await dispatcher.run();
}

describe('a delivery', () => {
  it('is signed per Standard Webhooks, with the exact body and headers', async () => {
    const c = await seedCreditor(t);
    const { secret } = await endpoint(c);
    const before = t.clock.now();
    const id = await emit(c);
    expect(await dispatcher.run()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const hit = receiver.received[0]!;
    expect(hit.headers['webhook-id']).toBe(id);
    expect(hit.headers['content-type']).toBe('application/json');
    const ts = Number(hit.headers['webhook-timestamp']);
    expect(ts).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000));
    expect(ts).toBeLessThanOrEqual(Math.ceil(t.clock.now().getTime() / 1000));
    expect(hit.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const payload = verifyAt(secret, hit, t.clock.now()) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(['id', 'type', 'created_at', 'data']);
    expect(payload).toMatchObject({ id, type: 'import.completed', data: { id: 'imp_1', rows_imported: 2 } });
    expect((await deliveryOf(id)).status).toBe('succeeded');
    const attempts = await attemptsOf(c, id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
  });

  it('goes only to enabled endpoints subscribed to the type', async () => {
    const c = await seedCreditor(t);
    await endpoint(c, { events: ['payment.succeeded'] });
    const all = await endpoint(c, { events: [] });
    const imports = await endpoint(c, { events: ['import.completed'] });
    const id = await emit(c);
    await dispatcher.run();
    const attempts = await attemptsOf(c, id);
    expect(attempts.map((a) => a.endpoint_id).sort()).toEqual([all.id, imports.id].sort());
    expect(receiver.received).toHaveLength(2);
  });

  it('is not written when the emitting transaction rolls back', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    let eventId = '';
    await expect(
      t.database.db.transaction(async (tx) => {
        eventId = (await emitEvent(tx, { creditorId: c.creditorId, type: 'import.completed', data: importData(), at: t.clock.now() })).id;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await t.request.get(`/api/v1/events/${eventId}`).set(c.auth)).status).toBe(404);
    expect(await dispatcher.run()).toBe(0);
    expect(receiver.received).toHaveLength(0);
  });

  it('keeps only the first kilobyte of the answer', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    receiver.respond(() => ({ status: 200, body: 'x'.repeat(50_000) }));
    const id = await emit(c);
    await dispatcher.run();
    const [row] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, id));
    expect(row!.status).toBe('succeeded');
    const detail = await t.request.get(`/api/v1/events/${id}`).set(c.auth);
    const excerpt = detail.body.deliveries[0].response_excerpt as string;
    expect(excerpt.length).toBeGreaterThan(0);
    expect(excerpt.length).toBeLessThanOrEqual(1024);
  });
});

describe('retries', () => {
  it('follows the schedule on a moved clock, each try re-signed and verifiable, until failed; then redelivers by hand', async () => {
    const c = await seedCreditor(t);
    const { secret, id: endpointId } = await endpoint(c);
    receiver.respond(() => ({ status: 500, body: 'boom' }));
    const id = await emit(c);
    const created = new Date((await t.request.get(`/api/v1/events/${id}`).set(c.auth)).body.created_at as string);

    for (let attempt = 1; attempt <= 8; attempt++) {
      await runWhenDue(id);
      expect(receiver.received).toHaveLength(attempt);
      const hit = receiver.received[attempt - 1]!;
      // Same id on every try; this try's timestamp; verifiable by a receiver on the same clock.
      expect(hit.headers['webhook-id']).toBe(id);
      const payload = verifyAt(secret, hit, t.clock.now()) as { created_at: string };
      expect(payload.created_at).toBe(created.toISOString());
      const row = await deliveryOf(id);
      expect(row.attempts).toBe(attempt);
      const tries = await attemptsOf(c, id);
      const last = tries[tries.length - 1]!;
      expect(last).toMatchObject({ attempt, status_code: 500, endpoint_id: endpointId });
      expect(Number(hit.headers['webhook-timestamp'])).toBe(Math.floor(new Date(last.at).getTime() / 1000));
      if (attempt < 8) {
        expect(row.status).toBe('pending');
        const answered = new Date(last.at).getTime() + last.duration_ms;
        const delay = RETRY_DELAYS_MS[attempt - 1]!;
        const actual = row.nextAttemptAt!.getTime() - answered;
        expect(actual).toBeGreaterThanOrEqual(delay - 1);
        expect(actual).toBeLessThanOrEqual(delay * 1.1 + 1);
        // Not early.
        t.clock.set(new Date(row.nextAttemptAt!.getTime() - Math.min(delay / 2, 60_000)));
        await dispatcher.run();
        expect(receiver.received).toHaveLength(attempt);
      } else {
        expect(row.status).toBe('failed');
        expect(row.nextAttemptAt).toBeNull();
      }
    }
    // Signed hours after the event, still verifiable.
    expect(t.clock.now().getTime() - created.getTime()).toBeGreaterThan(27 * 3600 * 1000);
    t.clock.set(new Date(t.clock.now().getTime() + 7 * 24 * 3600 * 1000));
    await dispatcher.run();
    expect(receiver.received).toHaveLength(8);

    receiver.respond(() => ({ status: 204 }));
    const redelivered = await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({});
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toEqual({ event_id: id, endpoint_ids: [endpointId] });
    await dispatcher.run();
    expect(receiver.received).toHaveLength(9);
    expect(receiver.received[8]!.headers['webhook-id']).toBe(id);
    verifyAt(secret, receiver.received[8]!, t.clock.now());
    const row = await deliveryOf(id);
    expect(row.status).toBe('succeeded');
    expect((await attemptsOf(c, id)).map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('stops at the first 2xx', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    receiver.respond((_req, i) => (i < 2 ? { status: 503 } : { status: 200 }));
    const id = await emit(c);
    for (let i = 0; i < 3; i++) await runWhenDue(id);
    expect(receiver.received).toHaveLength(3);
    const row = await deliveryOf(id);
    expect(row.status).toBe('succeeded');
    t.clock.set(new Date(t.clock.now().getTime() + 2 * 24 * 3600 * 1000));
    await dispatcher.run();
    expect(receiver.received).toHaveLength(3);
  });

  it('counts a timeout as a failure', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    const slow = testDispatcher(t, { timeoutMs: 200 });
    receiver.respond(() => ({ status: 200, delayMs: 3_000 }));
    const id = await emit(c);
    await slow.run();
    slow.dispatcher.close();
    const [attempt] = await attemptsOf(c, id);
    expect(attempt).toMatchObject({ attempt: 1, status_code: null });
    expect(attempt!.error).toMatch(/timed out/);
    expect(attempt!.duration_ms).toBeGreaterThanOrEqual(190);
    expect(attempt!.duration_ms).toBeLessThan(3_000);
    expect((await deliveryOf(id)).status).toBe('pending');
  });

  it('does not follow a redirect', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    const elsewhere = await startReceiver();
    try {
      receiver.respond(() => ({ status: 302, headers: { location: elsewhere.url } }));
      const id = await emit(c);
      await dispatcher.run();
      const [attempt] = await attemptsOf(c, id);
      expect(attempt).toMatchObject({ status_code: 302 });
      expect(attempt!.error).toMatch(/redirect/);
      expect(elsewhere.received).toHaveLength(0);
      expect((await deliveryOf(id)).status).toBe('pending');

      // Nor one to the cloud metadata address.
      receiver.respond(() => ({ status: 307, headers: { location: 'http://169.254.169.254/latest/meta-data/' } }));
      await runWhenDue(id);
      expect((await attemptsOf(c, id))[1]).toMatchObject({ status_code: 307 });
    } finally {
      await elsewhere.close();
    }
  });

  it('honours a longer Retry-After, in seconds or as an HTTP date, up to 24 h', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    const id = await emit(c);

    receiver.respond(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    await dispatcher.run();
    let tries = await attemptsOf(c, id);
    let answered = new Date(tries[0]!.at).getTime() + tries[0]!.duration_ms;
    let row = await deliveryOf(id);
    expect(row.nextAttemptAt!.getTime() - answered).toBeGreaterThanOrEqual(120_000);
    expect(row.nextAttemptAt!.getTime() - answered).toBeLessThanOrEqual(120_000 + 1);

    // Shorter than the schedule (5 min after try 2): the schedule wins.
    receiver.respond(() => ({ status: 503, headers: { 'retry-after': '10' } }));
    await runWhenDue(id);
    tries = await attemptsOf(c, id);
    answered = new Date(tries[1]!.at).getTime() + tries[1]!.duration_ms;
    row = await deliveryOf(id);
    expect(row.nextAttemptAt!.getTime() - answered).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[1]);

    // An HTTP date 3 h ahead of the (moved) clock.
    receiver.respond(() => ({ status: 503, headers: { 'retry-after': new Date(t.clock.now().getTime() + 3 * 3600 * 1000).toUTCString() } }));
    await runWhenDue(id);
    row = await deliveryOf(id);
    expect(row.nextAttemptAt!.getTime() - t.clock.now().getTime()).toBeGreaterThan(2.9 * 3600 * 1000);

    // A week: held to 24 h.
    receiver.respond(() => ({ status: 429, headers: { 'retry-after': String(7 * 24 * 3600) } }));
    await runWhenDue(id);
    tries = await attemptsOf(c, id);
    answered = new Date(tries[3]!.at).getTime() + tries[3]!.duration_ms;
    row = await deliveryOf(id);
    expect(row.nextAttemptAt!.getTime() - answered).toBe(24 * 3600 * 1000);
  });
});

describe('410 Gone', () => {
  it('disables the endpoint and stops its queue; enable turns it back on', async () => {
    const c = await seedCreditor(t);
    const ep = await endpoint(c);
    receiver.respond(() => ({ status: 500 }));
    const first = await emit(c);
    const second = await emit(c);
    await dispatcher.run();
    expect(receiver.received).toHaveLength(2);

    receiver.respond(() => ({ status: 410 }));
    await runWhenDue(first);
    const got = await t.request.get(`/api/v1/webhook-endpoints/${ep.id}`).set(c.auth);
    expect(got.body.status).toBe('disabled');
    expect(got.body.disabled_at).not.toBeNull();
    for (const id of [first, second]) expect((await deliveryOf(id)).status).toBe('failed');

    // Nothing more goes out, for old events or new ones.
    const third = await emit(c);
    t.clock.set(new Date(t.clock.now().getTime() + 24 * 3600 * 1000));
    await dispatcher.run();
    const sent = receiver.received.length;
    expect(sent).toBeLessThanOrEqual(4);
    expect((await attemptsOf(c, third))).toHaveLength(0);

    const enabled = await t.request.post(`/api/v1/webhook-endpoints/${ep.id}/enable`).set(c.auth);
    expect(enabled.status).toBe(200);
    expect(enabled.body.status).toBe('enabled');
    expect(enabled.body.disabled_at).toBeNull();
    receiver.respond(() => ({ status: 200 }));
    const fourth = await emit(c);
    await dispatcher.run();
    expect((await deliveryOf(fourth)).status).toBe('succeeded');
    expect(receiver.received.length).toBe(sent + 1);
  });
});

describe('secret rotation', () => {
  it('signs with both secrets for 24 h, and a receiver holding either verifies', async () => {
    const c = await seedCreditor(t);
    const ep = await endpoint(c);
    const rotated = await t.request.post(`/api/v1/webhook-endpoints/${ep.id}/rotate-secret`).set(c.auth);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(fresh).not.toBe(ep.secret);

    const id = await emit(c);
    await dispatcher.run();
    const hit = receiver.received[0]!;
    expect(hit.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    verifyAt(ep.secret, hit, t.clock.now());
    verifyAt(fresh, hit, t.clock.now());

    // A retry 23 h later still carries both; one after 24 h only the new one.
    receiver.respond(() => ({ status: 500 }));
    await t.request.post(`/api/v1/events/${id}/redeliver`).set(c.auth).send({});
    t.clock.set(new Date(t.clock.now().getTime() + 23 * 3600 * 1000));
    await dispatcher.run();
    const later = receiver.received[1]!;
    expect(later.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    verifyAt(ep.secret, later, t.clock.now());
    verifyAt(fresh, later, t.clock.now());

    t.clock.set(new Date(t.clock.now().getTime() + 3600 * 1000));
    await runWhenDue(id);
    const last = receiver.received[2]!;
    expect(last.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    verifyAt(fresh, last, t.clock.now());
    expect(() => verifyAt(ep.secret, last, t.clock.now())).toThrow(/signature/i);
  });
});

describe('the dispatcher', () => {
  it('sends in parallel, within its bound', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    let active = 0;
    let peak = 0;
    receiver.respond(() => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => active--, 100);
      return { status: 200, delayMs: 100 };
    });
    for (let i = 0; i < 24; i++) await emit(c, importData(`imp_${i}`));
    const bounded = testDispatcher(t, { concurrency: 6 });
    const started = Date.now();
    expect(await bounded.run()).toBe(24);
    bounded.dispatcher.close();
    expect(receiver.received).toHaveLength(24);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(6);
    expect(Date.now() - started).toBeLessThan(24 * 100);
  });

  it('claims nothing once its context is aborted', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    const id = await emit(c);
    const controller = new AbortController();
    controller.abort();
    expect(await dispatcher.dispatcher.run({ ...dispatcher.ctx, signal: controller.signal } as typeof dispatcher.ctx)).toBe(0);
    expect((await deliveryOf(id)).status).toBe('pending');
    expect(await dispatcher.run()).toBe(1);
  });

  it('runs from the job runner, and stop() waits for the tries in flight', async () => {
    const c = await seedCreditor(t);
    await endpoint(c);
    receiver.respond(() => ({ status: 200, delayMs: 300 }));
    const id = await emit(c);
    const runner = startJobRunner(dispatcher.ctx, [dispatcher.dispatcher], { autostart: false });
    const ticking = runner.tick();
    await new Promise((r) => setTimeout(r, 100));
    await runner.stop();
    expect((await deliveryOf(id)).status).toBe('succeeded');
    await ticking;
  });
});
