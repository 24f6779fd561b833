import { sql } from 'drizzle-orm';
import { bigint, check, date, index, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { cents, createdAt, instant } from './columns.js';

/**
 * A person, by CPF: the identity a debtor link is opened with. Written when a link is
 * made, not on import (intake stays a single set-based write). Contact data stays per
 * creditor, on the debts, so one creditor never overwrites what another sent.
 */
export const debtors = pgTable('debtors', {
  cpf: text('cpf').primaryKey(),
  createdAt: createdAt(),
});

export const DEBT_STATUSES = ['open', 'in_agreement', 'settled', 'withdrawn', 'prescribed'] as const;
export type DebtStatus = (typeof DEBT_STATUSES)[number];

/**
 * Keyed by (creditor_id, id): `id` grows with each insert, so the primary key also serves
 * "newest first" pagination within a creditor, and tenant-scoped foreign keys can name both.
 */
export const debts = pgTable(
  'debts',
  {
    // Not a foreign key: checked once per statement by a trigger (migration 0006), since a
    // row-by-row foreign key check was half of an import's database time.
    creditorId: uuid('creditor_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    // external_id and cpf are COLLATE "C" (migration 0007: identifiers compare as bytes);
    // drizzle's column builders cannot say so.
    externalId: text('external_id').notNull(),
    cpf: text('cpf').notNull(),
    name: text('name').notNull(),
    email: text('email'),
    phone: text('phone'),
    amountCents: cents('amount_cents').notNull(),
    creditedCents: cents('credited_cents').notNull().default(0),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    description: text('description'),
    status: text('status', { enum: DEBT_STATUSES }).notNull().default('open'),
    withdrawnReason: text('withdrawn_reason', { enum: ['withdrawn', 'paid_elsewhere'] }),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.creditorId, t.id] }),
    unique('debts_creditor_external_id_key').on(t.creditorId, t.externalId),
    index('debts_creditor_cpf_idx').on(t.creditorId, t.cpf),
    check('debts_amount_positive', sql`${t.amountCents} > 0`),
    check('debts_credited_range', sql`${t.creditedCents} >= 0 AND ${t.creditedCents} <= ${t.amountCents}`),
    check('debts_status_valid', sql`${t.status} IN ('open', 'in_agreement', 'settled', 'withdrawn', 'prescribed')`),
  ],
);
