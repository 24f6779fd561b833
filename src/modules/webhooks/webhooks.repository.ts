// All SQL for endpoints, events and their delivery history, scoped by creditor.
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints, webhookEvents } from '../../db/schema/index.js';
import type { Cursor } from '../../lib/pagination.js';
import { leaseFree } from './webhooks.queue.js';

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type EventRow = typeof webhookEvents.$inferSelect;

const before = (createdAt: typeof webhookEvents.createdAt | typeof webhookEndpoints.createdAt, id: typeof webhookEvents.id | typeof webhookEndpoints.id, cursor?: Cursor) =>
  cursor ? sql`(${createdAt}, ${id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id})` : undefined;

export function createWebhookRepository(db: Executor) {
  const liveEndpoint = (creditorId: string, id: string) =>
    and(eq(webhookEndpoints.creditorId, creditorId), eq(webhookEndpoints.id, id), isNull(webhookEndpoints.deletedAt));

  /**
   * Pending deliveries of an endpoint that will not be sent: failed, redeliverable by hand.
   * One in flight keeps its lease (judged on the database's clock), and fails when its
   * worker records it.
   */
  const failPending = async (endpointId: string, reason: string, at: Date) => {
    await db
      .update(webhookDeliveries)
      .set({ status: 'failed', nextAttemptAt: null, lastError: reason, updatedAt: at })
      .where(
        and(
          eq(webhookDeliveries.endpointId, endpointId),
          eq(webhookDeliveries.status, 'pending'),
          leaseFree(),
        ),
      );
  };

  return {
    async insertEndpoint(row: typeof webhookEndpoints.$inferInsert): Promise<EndpointRow> {
      const [created] = await db.insert(webhookEndpoints).values(row).returning();
      return created!;
    },

    async findEndpoint(creditorId: string, id: string): Promise<EndpointRow | undefined> {
      const [row] = await db.select().from(webhookEndpoints).where(liveEndpoint(creditorId, id));
      return row;
    },

    async countEndpoints(creditorId: string): Promise<number> {
      const [row] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.creditorId, creditorId), isNull(webhookEndpoints.deletedAt)));
      return row?.n ?? 0;
    },

    async listEndpoints(creditorId: string, limit: number, cursor?: Cursor): Promise<EndpointRow[]> {
      return db
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.creditorId, creditorId), isNull(webhookEndpoints.deletedAt), before(webhookEndpoints.createdAt, webhookEndpoints.id, cursor)))
        .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
        .limit(limit + 1);
    },

    async updateEndpoint(creditorId: string, id: string, values: Partial<typeof webhookEndpoints.$inferInsert>): Promise<EndpointRow | undefined> {
      const [row] = await db.update(webhookEndpoints).set(values).where(liveEndpoint(creditorId, id)).returning();
      return row;
    },

    async deleteEndpoint(creditorId: string, id: string, at: Date): Promise<boolean> {
      const row = await this.updateEndpoint(creditorId, id, { deletedAt: at, updatedAt: at });
      if (row) await failPending(id, 'endpoint deleted', at);
      return Boolean(row);
    },

    async findEvent(creditorId: string, id: string): Promise<EventRow | undefined> {
      const [row] = await db
        .select()
        .from(webhookEvents)
        .where(and(eq(webhookEvents.creditorId, creditorId), eq(webhookEvents.id, id)));
      return row;
    },

    /** The event, kept from the retention job (webhook-retention.ts) until the transaction ends. */
    async lockEvent(creditorId: string, id: string): Promise<EventRow | undefined> {
      const [row] = await db
        .select()
        .from(webhookEvents)
        .where(and(eq(webhookEvents.creditorId, creditorId), eq(webhookEvents.id, id)))
        .for('key share');
      return row;
    },

    async listEvents(creditorId: string, opts: { limit: number; cursor?: Cursor; type?: string }): Promise<EventRow[]> {
      return db
        .select()
        .from(webhookEvents)
        .where(
          and(
            eq(webhookEvents.creditorId, creditorId),
            opts.type ? eq(webhookEvents.type, opts.type) : undefined,
            before(webhookEvents.createdAt, webhookEvents.id, opts.cursor),
          ),
        )
        .orderBy(desc(webhookEvents.createdAt), desc(webhookEvents.id))
        .limit(opts.limit + 1);
    },

    async listAttempts(creditorId: string, eventId: string) {
      return db
        .select({
          endpointId: webhookDeliveries.endpointId,
          attempt: webhookDeliveryAttempts.attempt,
          at: webhookDeliveryAttempts.at,
          statusCode: webhookDeliveryAttempts.statusCode,
          error: webhookDeliveryAttempts.error,
          durationMs: webhookDeliveryAttempts.durationMs,
          responseExcerpt: webhookDeliveryAttempts.responseExcerpt,
        })
        .from(webhookDeliveryAttempts)
        .innerJoin(webhookDeliveries, eq(webhookDeliveries.id, webhookDeliveryAttempts.deliveryId))
        .where(and(eq(webhookDeliveries.creditorId, creditorId), eq(webhookDeliveries.eventId, eventId)))
        .orderBy(asc(webhookDeliveryAttempts.at), asc(webhookDeliveryAttempts.attempt));
    },

    /** Endpoints that would receive an event of this type now. */
    async subscribedEndpoints(creditorId: string, type: string): Promise<EndpointRow[]> {
      return db
        .select()
        .from(webhookEndpoints)
        .where(
          and(
            eq(webhookEndpoints.creditorId, creditorId),
            eq(webhookEndpoints.status, 'enabled'),
            isNull(webhookEndpoints.deletedAt),
            sql`(cardinality(${webhookEndpoints.events}) = 0 OR ${type} = ANY (${webhookEndpoints.events}))`,
          ),
        );
    },

    /**
     * A fresh try of an event to an endpoint, due now: its retry schedule starts over, and
     * a worker still holding the old lease no longer owns it.
     */
    async requeue(event: EventRow, endpointId: string, at: Date): Promise<void> {
      // Due at the earlier of the app clock and the database's: a worker not on the moved clock sends it too.
      const due = sql`LEAST(${at.toISOString()}::timestamptz, now())`;
      await db
        .insert(webhookDeliveries)
        .values({ eventId: event.id, endpointId, creditorId: event.creditorId, status: 'pending', nextAttemptAt: due, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({
          target: [webhookDeliveries.eventId, webhookDeliveries.endpointId],
          set: {
            status: 'pending',
            nextAttemptAt: due,
            retryBase: sql`${webhookDeliveries.attempts}`,
            lockedUntil: null,
            claimedBy: null,
            updatedAt: at,
          },
        });
    },
  };
}

export type WebhookRepository = ReturnType<typeof createWebhookRepository>;
