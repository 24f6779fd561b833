// Payments (CONTRACT §7): one row per attempt to pay a parcel or the early payoff, and the
// Stripe webhook events already handled (dedupe by event id).
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { agreements } from './agreements.js';
import { cents, createdAt, instant } from './columns.js';
import { creditors } from './creditors.js';

export const PAYMENT_KINDS = ['parcel', 'payoff'] as const;
export type PaymentKind = (typeof PAYMENT_KINDS)[number];
export const PAYMENT_METHODS = ['pix', 'boleto', 'card', 'sandbox'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export const PAYMENT_PROVIDERS = ['sandbox', 'stripe'] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];
export const PAYMENT_STATUSES = ['pending', 'processing', 'succeeded', 'failed'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** What the payment page shows while the debtor pays outside Quita (a Pix code, a boleto). */
export interface PaymentDisplay {
  pix?: { code: string; expires_at: string | null };
  boleto?: { number: string; hosted_voucher_url: string | null; pdf: string | null; expires_at: string | null };
}

/**
 * One attempt to pay: a parcel (`parcel_number`) or the early payoff (every unpaid parcel,
 * `parcel_number` null). `provider_ref` is the Stripe PaymentIntent id. `provider_event_at`
 * is the creation time of the last Stripe event applied, so that an older event arriving
 * late never undoes a newer one.
 */
export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    kind: text('kind', { enum: PAYMENT_KINDS }).notNull(),
    parcelNumber: integer('parcel_number'),
    amountCents: cents('amount_cents').notNull(),
    method: text('method', { enum: PAYMENT_METHODS }).notNull(),
    provider: text('provider', { enum: PAYMENT_PROVIDERS }).notNull(),
    providerRef: text('provider_ref').unique('payments_provider_ref_key'),
    status: text('status', { enum: PAYMENT_STATUSES }).notNull().default('pending'),
    failureMessage: text('failure_message'),
    display: jsonb('display').$type<PaymentDisplay>(),
    providerEventAt: instant('provider_event_at'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
    paidAt: instant('paid_at'),
  },
  (t) => [
    index('payments_agreement_idx').on(t.agreementId, t.createdAt),
    index('payments_creditor_created_idx').on(t.creditorId, t.createdAt, t.id),
    check('payments_kind_valid', sql`${t.kind} IN ('parcel', 'payoff')`),
    check('payments_parcel_number', sql`(${t.kind} = 'parcel') = (${t.parcelNumber} IS NOT NULL)`),
    check('payments_method_valid', sql`${t.method} IN ('pix', 'boleto', 'card', 'sandbox')`),
    check('payments_provider_valid', sql`${t.provider} IN ('sandbox', 'stripe')`),
    check('payments_status_valid', sql`${t.status} IN ('pending', 'processing', 'succeeded', 'failed')`),
    check('payments_amount_positive', sql`${t.amountCents} > 0`),
  ],
);

/** Stripe webhook events already handled: a repeated delivery changes nothing. */
export const stripeEvents = pgTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  /** The payment it concerned and its creditor, when it concerned one of ours. */
  creditorId: uuid('creditor_id'),
  paymentId: uuid('payment_id'),
  receivedAt: createdAt(),
});
