import { sql } from 'drizzle-orm';
import { bigint, check, date, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';
import { creditors } from './creditors.js';
import { debtors } from './debts.js';

/**
 * A link a creditor hands a debtor: it opens the portal only together with the matching
 * CPF. Only the SHA-256 of its token is kept. Wrong CPFs are counted here, so every
 * instance agrees on lockouts.
 */
export const debtorLinks = pgTable(
  'debtor_links',
  {
    id: uuid('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    cpf: text('cpf')
      .notNull()
      .references(() => debtors.cpf),
    tokenHash: text('token_hash').notNull().unique('debtor_links_token_hash_key'),
    expiresAt: instant('expires_at').notNull(),
    revokedAt: instant('revoked_at'),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedUntil: instant('locked_until'),
    lockouts: integer('lockouts').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index('debtor_links_creditor_cpf_idx').on(t.creditorId, t.cpf)],
);

/** A debtor's portal session: `id` is the SHA-256 of the random value the cookie carries. */
export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    linkId: uuid('link_id')
      .notNull()
      .references(() => debtorLinks.id),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    cpf: text('cpf').notNull(),
    createdAt: createdAt(),
    lastSeenAt: instant('last_seen_at').notNull().defaultNow(),
    endedAt: instant('ended_at'),
  },
  (t) => [index('portal_sessions_link_idx').on(t.linkId)],
);

/**
 * Every offer shown to a debtor, exactly as shown (`terms`), so that it is honoured as
 * shown until `expires_at` even if the policy changes meanwhile.
 */
export const offers = pgTable(
  'offers',
  {
    id: uuid('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    cpf: text('cpf').notNull(),
    sessionId: text('session_id')
      .notNull()
      .references(() => portalSessions.id),
    linkId: uuid('link_id')
      .notNull()
      .references(() => debtorLinks.id),
    debtIds: bigint('debt_ids', { mode: 'number' }).array().notNull(),
    policyVersion: integer('policy_version').notNull(),
    asOf: date('as_of', { mode: 'string' }).notNull(),
    firstDueDate: date('first_due_date', { mode: 'string' }).notNull(),
    kind: text('kind', { enum: ['cash', 'installments'] }).notNull(),
    installments: integer('installments').notNull(),
    terms: jsonb('terms').notNull(),
    termsHash: text('terms_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: instant('expires_at').notNull(),
  },
  (t) => [
    index('offers_session_idx').on(t.sessionId),
    index('offers_expires_idx').on(t.expiresAt),
    check('offers_kind_valid', sql`${t.kind} IN ('cash', 'installments')`),
  ],
);
