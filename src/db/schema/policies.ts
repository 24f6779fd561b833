import { integer, jsonb, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { creditors } from './creditors.js';

/** Each PUT /api/v1/policy makes a new immutable version; version 0 is the default and is never stored. */
export const policyVersions = pgTable(
  'policy_versions',
  {
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    version: integer('version').notNull(),
    policy: jsonb('policy').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.creditorId, t.version] })],
);
