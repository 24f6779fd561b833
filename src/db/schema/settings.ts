import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { instant } from './columns.js';

/** Process-wide settings shared by every instance and worker (outside production: the moved clock). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});
