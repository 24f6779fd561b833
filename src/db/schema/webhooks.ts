// Creditor webhooks (CONTRACT §4.7): endpoints, the event outbox, one delivery per
// event × endpoint, and every attempt made for it.
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';
import { creditors } from './creditors.js';

export const WEBHOOK_ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    url: text('url').notNull(),
    /** Event types this endpoint receives; empty means every type. */
    events: text('events').array().notNull().default(sql`'{}'::text[]`),
    status: text('status', { enum: WEBHOOK_ENDPOINT_STATUSES }).notNull().default('enabled'),
    secret: text('secret').notNull(),
    /** The secret replaced by the last rotation, which keeps signing until it expires. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: instant('previous_secret_expires_at'),
    disabledAt: instant('disabled_at'),
    disabledReason: text('disabled_reason'),
    /** DELETE keeps the row so that delivery history still names it. */
    deletedAt: instant('deleted_at'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('webhook_endpoints_creditor_created_idx').on(t.creditorId, t.createdAt, t.id),
    check('webhook_endpoints_status_valid', sql`${t.status} IN ('enabled', 'disabled')`),
  ],
);

export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('webhook_events_creditor_created_idx').on(t.creditorId, t.createdAt, t.id),
    index('webhook_events_creditor_type_created_idx').on(t.creditorId, t.type, t.createdAt, t.id),
  ],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    /** Attempts started, counted when claimed: an attempt lost in a crash still counts. */
    attempts: integer('attempts').notNull().default(0),
    /** `attempts` when the last manual redelivery was asked for: the retry schedule restarts there. */
    retryBase: integer('retry_base').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at'),
    /** The lease of the worker sending it; past it, another worker may take the delivery over. */
    lockedUntil: instant('locked_until'),
    claimedBy: text('claimed_by'),
    lastAttemptAt: instant('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    unique('webhook_deliveries_event_endpoint_key').on(t.eventId, t.endpointId),
    // Partial: only pending rows are ever looked for, and a delivery leaves them when done.
    index('webhook_deliveries_pending_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`status = 'pending'`),
    index('webhook_deliveries_endpoint_pending_idx')
      .on(t.endpointId)
      .where(sql`status = 'pending'`),
    check('webhook_deliveries_status_valid', sql`${t.status} IN ('pending', 'succeeded', 'failed')`),
  ],
);

export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    attempt: integer('attempt').notNull(),
    at: instant('at').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    /** The first ~1 KB of the receiver's answer. */
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_delivery_attempts_delivery_idx').on(t.deliveryId, t.attempt)],
);
