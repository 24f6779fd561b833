import { bigint, timestamp } from 'drizzle-orm/pg-core';

/** Integer centavos: bigint in the database, a JS number (≤ 2^53) in code. */
export const cents = (name: string) => bigint(name, { mode: 'number' });

export const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
