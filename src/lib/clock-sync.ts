// Outside production the admin API moves the clock; the offset is kept in the database so
// that every instance and worker reads the same "now".
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { settings } from '../db/schema/index.js';
import type { AdjustableClock } from './clock.js';

const KEY = 'clock_offset_ms';

export async function saveClockOffset(db: Executor, offsetMs: number): Promise<void> {
  await db
    .insert(settings)
    .values({ key: KEY, value: offsetMs })
    .onConflictDoUpdate({ target: settings.key, set: { value: sql`excluded.value`, updatedAt: sql`now()` } });
}

/** Reads the shared offset into `clock`. */
export async function syncClock(db: Executor, clock: AdjustableClock): Promise<void> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, KEY));
  // No row: nobody moved the clock through the API; leave this process's clock alone.
  if (typeof row?.value !== 'number') return;
  if (row.value !== clock.offset) clock.setOffset(row.value);
}
