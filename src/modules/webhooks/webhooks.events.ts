// The outbox other modules write to. An event is stored in the caller's transaction,
// beside the change it reports, with one delivery row per enabled endpoint of that
// creditor that subscribes to its type: if the change commits, the event will be
// delivered; if it rolls back, it never existed.
//
// Who emits what:
//   import.completed                       portfolio intake, when an import (not a dry run) finishes or fails
//   agreement.created                      agreements, when the debtor confirms an offer
//   agreement.cancelled                    agreements, POST /api/v1/agreements/{id}/cancel
//   agreement.activated, .completed        payments, when a payment settles parcel 1 / the last parcel
//   payment.succeeded, payment.failed      payments (sandbox settlement, Stripe webhooks)
//   agreement.expired, .broken             the lifecycle job (CONTRACT §8)
//   parcel.due_soon, parcel.overdue        the lifecycle job
//
// Usage:
//   await db.transaction(async (tx) => {
//     …the change…
//     await emitEvent(tx, { creditorId, type: 'agreement.created', data: agreement, at: clock.now() });
//   });
//   notifyOutbox(); // after the commit: the in-process dispatcher sends it now rather than at its next poll
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/schema/index.js';

export const EVENT_TYPES = [
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
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface AgreementParcelData {
  number: number;
  due_date: string;
  amount_cents: number;
  status: 'pending' | 'processing' | 'paid' | 'overdue' | 'cancelled';
  paid_at: string | null;
}

/** The agreement as GET /api/v1/agreements/{id} returns it (CONTRACT §4.6). */
export interface AgreementEventData {
  id: string;
  status: 'pending' | 'active' | 'completed' | 'broken' | 'expired' | 'cancelled';
  debts: string[];
  total_cents: number;
  discount_cents: number;
  installments: number;
  installment_monthly_rate_pct: number;
  effective_monthly_rate_pct: number;
  policy_version: number;
  accepted_at: string;
  paid_cents: number;
  parcels: AgreementParcelData[];
}

export interface PaymentEventData {
  id: string;
  agreement_id: string;
  parcel_number: number | null;
  amount_cents: number;
  method: 'pix' | 'boleto' | 'card' | 'sandbox';
  status: string;
  created_at: string;
  paid_at: string | null;
  failure_message: string | null;
}

export interface ParcelEventData {
  agreement_id: string;
  parcel: AgreementParcelData;
}

/** The import as GET /api/v1/imports/{id} returns it, without `errors`. */
export interface ImportEventData {
  id: string;
  status: 'processing' | 'completed' | 'failed';
  dry_run: boolean;
  rows_total: number;
  rows_imported: number;
  rows_rejected: number;
  error?: string;
  created_at: string;
  finished_at: string | null;
}

export interface EventDataByType {
  'agreement.created': AgreementEventData;
  'agreement.activated': AgreementEventData;
  'agreement.completed': AgreementEventData;
  'agreement.broken': AgreementEventData;
  'agreement.expired': AgreementEventData;
  'agreement.cancelled': AgreementEventData;
  'payment.succeeded': PaymentEventData;
  'payment.failed': PaymentEventData;
  'parcel.due_soon': ParcelEventData;
  'parcel.overdue': ParcelEventData;
  'import.completed': ImportEventData;
}

export interface EmitEventInput<T extends EventType> {
  creditorId: string;
  type: T;
  data: EventDataByType[T];
  /** The event's created_at: pass the app clock's now (defaults to the database's now()). */
  at?: Date;
}

export const newEventId = (): string => `evt_${randomBytes(12).toString('hex')}`;

/**
 * Stores the event and queues one delivery per enabled, subscribed endpoint, inside `tx`.
 * The first try is due at once (at the earlier of `at` and the database's now, so that a
 * worker whose clock is not the moved app clock still sees it due).
 */
export async function emitEvent<T extends EventType>(tx: Executor, input: EmitEventInput<T>): Promise<{ id: string }> {
  const id = newEventId();
  const at = input.at ? sql`${input.at.toISOString()}::timestamptz` : sql`now()`;
  await tx.execute(sql`
    WITH event AS (
      INSERT INTO ${webhookEvents} (id, creditor_id, type, data, created_at)
      VALUES (${id}, ${input.creditorId}, ${input.type}, ${JSON.stringify(input.data)}::jsonb, ${at})
      RETURNING id, creditor_id, type, created_at
    )
    INSERT INTO ${webhookDeliveries} (event_id, endpoint_id, creditor_id, status, next_attempt_at, created_at, updated_at)
    SELECT event.id, e.id, event.creditor_id, 'pending', LEAST(event.created_at, now()), event.created_at, event.created_at
    FROM event
    JOIN ${webhookEndpoints} e ON e.creditor_id = event.creditor_id
    WHERE e.status = 'enabled' AND e.deleted_at IS NULL
      AND (cardinality(e.events) = 0 OR event.type = ANY (e.events))`);
  return { id };
}

const outbox = new EventEmitter();
outbox.setMaxListeners(0);

/** Wakes the dispatcher of this process; call it after the transaction that emitted commits. */
export function notifyOutbox(): void {
  outbox.emit('wake');
}

/** Calls `listener` on every notifyOutbox() until the returned function is called. */
export function onOutbox(listener: () => void): () => void {
  outbox.on('wake', listener);
  return () => outbox.off('wake', listener);
}
