import { and, eq, lt, sql } from 'drizzle-orm';
import { debts } from '../db/schema/index.js';
import { addYears } from '../lib/dates.js';
import { today } from '../lib/clock.js';
import type { Job } from './runner.js';

/**
 * An open debt due more than 5 years ago is prescribed (Código Civil art. 206 §5 I): it is
 * never shown nor offered again. A debt inside an agreement keeps its agreement.
 */
export const prescribeDebtsJob: Job = {
  name: 'prescribe-debts',
  intervalMs: 60 * 60 * 1000,
  async run({ database, clock, config }) {
    const cutoff = addYears(today(clock, config.tzBusiness), -5);
    const rows = await database.db
      .update(debts)
      .set({ status: 'prescribed', updatedAt: sql`now()` })
      .where(and(eq(debts.status, 'open'), lt(debts.dueDate, cutoff)))
      .returning({ id: debts.id });
    return rows.length;
  },
};
