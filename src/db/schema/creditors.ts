import { boolean, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';

export const creditors = pgTable('creditors', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  document: text('document').notNull().unique(),
  street: text('street').notNull(),
  city: text('city').notNull(),
  state: text('state').notNull(),
  postalCode: text('postal_code').notNull(),
  email: text('email').notNull(),
  phone: text('phone'),
  pixKey: text('pix_key'),
  financialInstitution: boolean('financial_institution').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

export const creditorCredentials = pgTable(
  'creditor_credentials',
  {
    clientId: text('client_id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    secretHash: text('secret_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: instant('revoked_at'),
  },
  (t) => [index('creditor_credentials_creditor_idx').on(t.creditorId)],
);
