import { sql } from 'drizzle-orm';
import type { Job } from './runner.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * What the privacy page promises (views/pages/portal/privacy.hbs): offers shown are kept
 * up to 90 days after they expire unless they became an agreement; a session's row goes
 * once it has ended and none of its offers remain. Small batches, so no long lock.
 */
export const portalRetentionJob: Job = {
  name: 'portal-retention',
  intervalMs: 60 * 60 * 1000,
  async run({ database, clock }) {
    const now = clock.now().getTime();
    const offersBefore = new Date(now - 90 * DAY_MS).toISOString();
    const sessionsBefore = new Date(now - DAY_MS).toISOString();
    const offers = await database.db.execute(sql`
      DELETE FROM offers o
       WHERE o.id IN (SELECT id FROM offers WHERE expires_at < ${offersBefore}::timestamptz LIMIT 5000)
         AND NOT EXISTS (SELECT 1 FROM agreements a WHERE a.offer_id = o.id)
      RETURNING o.id`);
    const sessions = await database.db.execute(sql`
      DELETE FROM portal_sessions s
       WHERE s.id IN (SELECT id FROM portal_sessions
                       WHERE COALESCE(ended_at, last_seen_at) < ${sessionsBefore}::timestamptz LIMIT 5000)
         AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.session_id = s.id)
      RETURNING s.id`);
    return (offers as { rows: unknown[] }).rows.length + (sessions as { rows: unknown[] }).rows.length;
  },
};
