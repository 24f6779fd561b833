import { lt } from 'drizzle-orm';
import { idempotencyKeys } from '../db/schema/index.js';
import type { Job } from './runner.js';

/** Idempotency keys answer for 24 h; older ones are dropped. */
export const idempotencyCleanupJob: Job = {
  name: 'idempotency-cleanup',
  intervalMs: 10 * 60 * 1000,
  async run({ database, clock }) {
    const cutoff = new Date(clock.now().getTime() - 24 * 3600 * 1000);
    const deleted = await database.db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff)).returning({ key: idempotencyKeys.key });
    return deleted.length;
  },
};
