// The job that lets time act on agreements (CONTRACT §8): overdue parcels, parcel.due_soon,
// expiry and breaking. Each short transaction claims a few live agreements that have
// something due (FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint ones),
// re-reads them under the lock and applies `applyTime`. Whatever it emits is recorded on
// the parcel (due_soon_notified_at, overdue_notified_at) or is a status change, so a
// second pass — by this worker or another — finds nothing left to do.
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { agreements, parcels } from '../../db/schema/index.js';
import { addDays, type CalendarDate } from '../../lib/dates.js';
import type { Job, JobContext } from '../../jobs/runner.js';
import { notifyOutbox } from '../webhooks/webhooks.events.js';
import { applyTime, DUE_SOON_DAYS, EXPIRY_GRACE_DAYS, lockAgreement, Moment } from './lifecycle.js';

/** Live agreements with something due on `today`, locked for this transaction; others' locked rows are skipped. */
export async function claimDueAgreements(tx: Executor, today: CalendarDate, limit: number): Promise<string[]> {
  const horizon = addDays(today, DUE_SOON_DAYS);
  const result = await tx.execute(sql`
    SELECT a.id FROM ${agreements} a
    WHERE a.status IN ('pending', 'active')
      AND EXISTS (
        SELECT 1 FROM ${parcels} p
        WHERE p.agreement_id = a.id
          AND p.status IN ('pending', 'overdue')
          AND p.due_date <= ${horizon}::date
          AND (
            (p.status = 'pending' AND (p.due_date < ${today}::date OR p.due_soon_notified_at IS NULL))
            OR (p.status = 'overdue' AND p.overdue_notified_at IS NULL)
            OR (
              NOT EXISTS (SELECT 1 FROM ${parcels} q WHERE q.agreement_id = a.id AND q.status = 'processing')
              AND (
                (a.status = 'pending' AND p.number = 1 AND p.due_date < ${today}::date - ${EXPIRY_GRACE_DAYS}::int)
                OR (a.status = 'active' AND p.status = 'overdue' AND p.due_date < ${today}::date - (a.policy->>'break_after_days')::int)
              )
            )
          )
      )
    ORDER BY a.created_at, a.id
    LIMIT ${limit}
    FOR UPDATE OF a SKIP LOCKED`);
  return (result as unknown as { rows: { id: string }[] }).rows.map((r) => r.id);
}

export interface LifecycleJobOptions {
  /** Agreements per transaction. */
  batchSize?: number;
  intervalMs?: number;
  /** A round stops claiming after this long; the next round goes on. */
  maxRoundMs?: number;
}

export function createLifecycleJob(options: LifecycleJobOptions = {}): Job {
  const batchSize = options.batchSize ?? 20;
  const maxRoundMs = options.maxRoundMs ?? 10_000;
  return {
    name: 'agreement-lifecycle',
    intervalMs: options.intervalMs ?? 5_000,
    async run(ctx: JobContext) {
      const started = Date.now();
      let handled = 0;
      for (;;) {
        const m = Moment.of(ctx.clock, ctx.config.tzBusiness);
        const { claimed, changed } = await ctx.database.db.transaction(async (tx) => {
          const ids = await claimDueAgreements(tx, m.today, batchSize);
          let n = 0;
          for (const id of ids) {
            const a = await lockAgreement(tx, id);
            if (a) n += await applyTime(tx, a, m);
          }
          return { claimed: ids.length, changed: n };
        });
        handled += changed;
        if (changed > 0) notifyOutbox();
        // Nothing claimed, or claimed rows with nothing to do (they would be claimed again): done for now.
        if (claimed === 0 || changed === 0 || Date.now() - started > maxRoundMs) break;
      }
      return handled;
    },
  };
}

export const lifecycleJob = createLifecycleJob();
