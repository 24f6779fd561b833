import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { webhookDeliveries, webhookDeliveryAttempts, webhookEvents } from '../db/schema/index.js';
import type { Job } from './runner.js';

const DAY_MS = 24 * 3600 * 1000;

const deletedCount = (result: unknown): number => (result as { rows: unknown[] }).rows.length;

/** Tries older than the window, of deliveries that are finished (succeeded or failed). */
async function deleteOldAttempts(db: Executor, cutoff: string, limit: number): Promise<number> {
  return deletedCount(
    await db.execute(sql`
      DELETE FROM ${webhookDeliveryAttempts}
       WHERE id IN (SELECT a.id FROM ${webhookDeliveryAttempts} a
                      JOIN ${webhookDeliveries} d ON d.id = a.delivery_id
                     WHERE a.at < ${cutoff}::timestamptz AND d.status <> 'pending'
                     LIMIT ${limit})
      RETURNING id`),
  );
}

/**
 * Finished deliveries of events past the window, with any try left: events created before
 * it none of whose deliveries is pending or changed within it. An event that a redelivery
 * under way has locked (`lockEvent`) is skipped, and so is a delivery being requeued.
 */
async function deleteOldDeliveries(db: Executor, cutoff: string, limit: number): Promise<number> {
  return deletedCount(
    await db.execute(sql`
      WITH doomed AS (
        SELECT d.id FROM ${webhookDeliveries} d
          JOIN ${webhookEvents} ev ON ev.id = d.event_id
         WHERE d.status <> 'pending' AND d.updated_at < ${cutoff}::timestamptz
           AND ev.created_at < ${cutoff}::timestamptz
           AND NOT EXISTS (SELECT 1 FROM ${webhookDeliveries} o
                            WHERE o.event_id = ev.id AND (o.status = 'pending' OR o.updated_at >= ${cutoff}::timestamptz))
         LIMIT ${limit}
         FOR UPDATE OF d, ev SKIP LOCKED
      ), attempts AS (
        DELETE FROM ${webhookDeliveryAttempts} a USING doomed WHERE a.delivery_id = doomed.id
      )
      DELETE FROM ${webhookDeliveries} d USING doomed WHERE d.id = doomed.id
      RETURNING d.id`),
  );
}

/** Events created before the window that have no delivery (left). */
async function deleteOldEvents(db: Executor, cutoff: string, limit: number): Promise<number> {
  return deletedCount(
    await db.execute(sql`
      DELETE FROM ${webhookEvents}
       WHERE id IN (SELECT ev.id FROM ${webhookEvents} ev
                     WHERE ev.created_at < ${cutoff}::timestamptz
                       AND NOT EXISTS (SELECT 1 FROM ${webhookDeliveries} d WHERE d.event_id = ev.id)
                     LIMIT ${limit}
                     FOR UPDATE SKIP LOCKED)
      RETURNING id`),
  );
}

export interface WebhookRetentionOptions {
  /** Rows per statement: each statement is its own short transaction, so no lock is held for long. */
  batchSize?: number;
  /** A round stops deleting after this long and leaves the rest to the next one. */
  maxRoundMs?: number;
}

/**
 * Webhook history is kept `WEBHOOK_RETENTION_DAYS` (config.webhookRetentionDays) on the
 * business clock: tries older than that go once their delivery is finished, and an event
 * goes, with its deliveries, once it is older than that and nothing of it is pending or
 * happened within it. Nothing pending or retrying is ever deleted. Returns the rows deleted.
 */
export function createWebhookRetentionJob(options: WebhookRetentionOptions = {}): Job {
  const batchSize = options.batchSize ?? 1_000;
  const maxRoundMs = options.maxRoundMs ?? 30_000;
  return {
    name: 'webhook-retention',
    intervalMs: 60 * 60 * 1000,
    async run({ database, clock, config, signal }) {
      const cutoff = new Date(clock.now().getTime() - config.webhookRetentionDays * DAY_MS).toISOString();
      const started = Date.now();
      const goOn = () => !signal?.aborted && Date.now() - started < maxRoundMs;
      let deleted = 0;
      for (const step of [deleteOldAttempts, deleteOldDeliveries, deleteOldEvents]) {
        for (;;) {
          const n = await step(database.db, cutoff, batchSize);
          deleted += n;
          if (n < batchSize) break;
          if (!goOn()) return deleted;
        }
      }
      return deleted;
    },
  };
}

export const webhookRetentionJob = createWebhookRetentionJob();
