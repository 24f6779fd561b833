// Real worker processes (`src/worker.ts`) sharing one queue on PostgreSQL: two at once
// never send the same try twice, and a worker killed mid-batch loses nothing.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import { emitEvent } from '../../src/modules/webhooks/webhooks.events.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, usingPostgres } from '../helpers/db.js';
import { spawnQuita, stopAll, stopProcess, until } from '../helpers/processes.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

let t: TestApp;
let c: SeededCreditor;
let receiver: Receiver;
let databaseUrl: string;
const startWorker = (name: string) => spawnQuita('worker', name, { NODE_ENV: 'test', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });

async function emitMany(n: number, tag: string): Promise<string[]> {
  return t.database.db.transaction(async (tx) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const data = { id: `${tag}_${i}`, status: 'completed' as const, dry_run: false, rows_total: 1, rows_imported: 1, rows_rejected: 0, created_at: new Date().toISOString(), finished_at: new Date().toISOString() };
      ids.push((await emitEvent(tx, { creditorId: c.creditorId, type: 'import.completed', data, at: new Date() })).id);
    }
    return ids;
  });
}

const countById = (ids: string[]) => {
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const hit of receiver.received) {
    const id = hit.headers['webhook-id']!;
    if (counts.has(id)) counts.set(id, counts.get(id)! + 1);
  }
  return counts;
};

describe.skipIf(!usingPostgres)('worker processes on PostgreSQL', () => {
  beforeAll(async () => {
    const database = await createTestDatabase();
    databaseUrl = database.url!;
    t = await buildTestApp({ database });
    c = await seedCreditor(t);
    receiver = await startReceiver();
    const res = await t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: receiver.url });
    expect(res.status).toBe(201);
  });

  afterAll(async () => {
    await stopAll();
    await receiver?.close();
    await t?.close();
  });

  it('two workers over one queue send every event once', async () => {
    receiver.respond(() => ({ status: 200, delayMs: 10 }));
    const ids = await emitMany(200, 'two');
    const a = startWorker('webhooks-worker-a');
    const b = startWorker('webhooks-worker-b');
    await until(() => [...countById(ids).values()].every((n) => n >= 1), 60_000, 'all 200 events', 50);
    await Promise.all([stopProcess(a), stopProcess(b)]);
    const counts = countById(ids);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    const rows = await t.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.creditorId, c.creditorId), eq(webhookDeliveries.status, 'succeeded'), eq(webhookDeliveries.attempts, 1)));
    expect(rows[0]!.n).toBe(200);
  }, 90_000);

  it('a worker killed mid-batch loses nothing: another takes its rows over when the lease runs out', async () => {
    receiver.received.length = 0;
    receiver.respond(() => ({ status: 200, delayMs: 300 }));
    const ids = await emitMany(200, 'crash');
    const doomed = startWorker('webhooks-worker-doomed');
    await until(() => receiver.received.length >= 10, 60_000, 'the first worker to be sending', 50);
    await stopProcess(doomed, 'SIGKILL');
    const leased = await t.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.creditorId, c.creditorId), eq(webhookDeliveries.status, 'pending'), sql`${webhookDeliveries.claimedBy} IS NOT NULL`));
    expect(leased[0]!.n).toBeGreaterThan(0);
    // As if the 60 s lease had run out, rather than waiting for it.
    await t.database.db.execute(sql`UPDATE ${webhookDeliveries} SET locked_until = now() - interval '1 second' WHERE claimed_by IS NOT NULL AND status = 'pending'`);

    const rescuer = startWorker('webhooks-worker-rescuer');
    await until(() => [...countById(ids).values()].every((n) => n >= 1), 60_000, 'all 200 events after the crash', 50);
    await stopProcess(rescuer);
    const pending = await t.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.creditorId, c.creditorId), eq(webhookDeliveries.status, 'pending')));
    expect(pending[0]!.n).toBe(0);
  }, 120_000);
});
