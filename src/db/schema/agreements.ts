import { sql } from 'drizzle-orm';
import { bigint, check, date, doublePrecision, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { cents, createdAt, instant } from './columns.js';
import { creditors } from './creditors.js';
import { debts } from './debts.js';
import { debtorLinks, offers } from './portal.js';

export const AGREEMENT_STATUSES = ['pending', 'active', 'completed', 'broken', 'expired', 'cancelled'] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];
/** An agreement in one of these holds its debts (`in_agreement`) and keeps its link alive. */
export const LIVE_AGREEMENT_STATUSES = ['pending', 'active'] as const satisfies readonly AgreementStatus[];

export const PARCEL_STATUSES = ['pending', 'processing', 'paid', 'overdue', 'cancelled'] as const;
export type ParcelStatus = (typeof PARCEL_STATUSES)[number];

/**
 * An agreement the debtor confirmed. `offer_id` is unique: confirming one offer twice makes
 * one agreement. `policy` is the policy version it was made under (late costs, lifecycle).
 * `paid_cents` is what was actually received (an early payoff pays less than the parcels' sum).
 */
export const agreements = pgTable(
  'agreements',
  {
    id: uuid('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    cpf: text('cpf').notNull(),
    linkId: uuid('link_id')
      .notNull()
      .references(() => debtorLinks.id),
    offerId: uuid('offer_id')
      .notNull()
      .unique('agreements_offer_id_key')
      .references(() => offers.id),
    status: text('status', { enum: AGREEMENT_STATUSES }).notNull().default('pending'),
    totalCents: cents('total_cents').notNull(),
    discountCents: cents('discount_cents').notNull(),
    installments: integer('installments').notNull(),
    installmentMonthlyRatePct: doublePrecision('installment_monthly_rate_pct').notNull(),
    effectiveMonthlyRatePct: doublePrecision('effective_monthly_rate_pct').notNull(),
    effectiveAnnualRatePct: doublePrecision('effective_annual_rate_pct').notNull(),
    policyVersion: integer('policy_version').notNull(),
    policy: jsonb('policy').notNull(),
    paidCents: cents('paid_cents').notNull().default(0),
    acceptedAt: instant('accepted_at').notNull(),
    consentIp: text('consent_ip').notNull(),
    consentUserAgent: text('consent_user_agent').notNull(),
    termsHash: text('terms_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('agreements_creditor_created_idx').on(t.creditorId, t.createdAt, t.id),
    index('agreements_creditor_cpf_idx').on(t.creditorId, t.cpf),
    index('agreements_link_idx').on(t.linkId),
    index('agreements_live_idx').on(t.status).where(sql`${t.status} IN ('pending', 'active')`),
    check('agreements_status_valid', sql`${t.status} IN ('pending', 'active', 'completed', 'broken', 'expired', 'cancelled')`),
  ],
);

/** The debts an agreement covers, with their values when it was made. */
export const agreementDebts = pgTable(
  'agreement_debts',
  {
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    creditorId: uuid('creditor_id').notNull(),
    debtId: bigint('debt_id', { mode: 'number' }).notNull(),
    externalId: text('external_id').notNull(),
    description: text('description'),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    principalCents: cents('principal_cents').notNull(),
    balanceCents: cents('balance_cents').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.agreementId, t.debtId] }),
    foreignKey({ name: 'agreement_debts_debt_fk', columns: [t.creditorId, t.debtId], foreignColumns: [debts.creditorId, debts.id] }),
    index('agreement_debts_debt_idx').on(t.creditorId, t.debtId),
  ],
);

export const parcels = pgTable(
  'parcels',
  {
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    creditorId: uuid('creditor_id').notNull(),
    number: integer('number').notNull(),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    amountCents: cents('amount_cents').notNull(),
    status: text('status', { enum: PARCEL_STATUSES }).notNull().default('pending'),
    paidAt: instant('paid_at'),
    /** When parcel.due_soon / parcel.overdue was emitted: each is emitted once. */
    dueSoonNotifiedAt: instant('due_soon_notified_at'),
    overdueNotifiedAt: instant('overdue_notified_at'),
  },
  (t) => [
    primaryKey({ columns: [t.agreementId, t.number] }),
    index('parcels_unpaid_due_idx').on(t.dueDate).where(sql`${t.status} IN ('pending', 'processing', 'overdue')`),
    check('parcels_status_valid', sql`${t.status} IN ('pending', 'processing', 'paid', 'overdue', 'cancelled')`),
    check('parcels_amount_positive', sql`${t.amountCents} > 0`),
  ],
);
