import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { creditorCredentials, creditors } from '../../db/schema/index.js';
import type { Cursor } from '../../lib/pagination.js';

export type CreditorRow = typeof creditors.$inferSelect;
export type NewCreditorRow = typeof creditors.$inferInsert;

export function createCreditorRepository(db: Executor) {
  return {
    async insert(row: NewCreditorRow): Promise<CreditorRow | undefined> {
      const [created] = await db.insert(creditors).values(row).onConflictDoNothing({ target: creditors.document }).returning();
      return created;
    },
    async findById(id: string): Promise<CreditorRow | undefined> {
      const [row] = await db.select().from(creditors).where(eq(creditors.id, id));
      return row;
    },
    async update(id: string, values: Partial<NewCreditorRow>): Promise<CreditorRow | undefined> {
      const [row] = await db.update(creditors).set({ ...values, updatedAt: sql`now()` }).where(eq(creditors.id, id)).returning();
      return row;
    },
    async insertCredential(row: { clientId: string; creditorId: string; secretHash: string; createdAt: Date }): Promise<void> {
      await db.insert(creditorCredentials).values(row);
    },
    async findLiveCredential(clientId: string) {
      const [row] = await db
        .select()
        .from(creditorCredentials)
        .where(and(eq(creditorCredentials.clientId, clientId), isNull(creditorCredentials.revokedAt)));
      return row;
    },
    /** Newest first, `limit + 1` rows after the cursor (the client id breaks ties). */
    async listCredentials(creditorId: string, limit: number, cursor: Cursor | undefined) {
      const { createdAt, clientId } = creditorCredentials;
      return db
        .select()
        .from(creditorCredentials)
        .where(
          and(
            eq(creditorCredentials.creditorId, creditorId),
            cursor ? or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(clientId, cursor.id))) : undefined,
          ),
        )
        .orderBy(desc(createdAt), desc(clientId))
        .limit(limit + 1);
    },
    /** Live credentials of a creditor, locked, so two revocations cannot both take the last two. */
    async lockLiveCredentials(creditorId: string) {
      return db
        .select({ clientId: creditorCredentials.clientId })
        .from(creditorCredentials)
        .where(and(eq(creditorCredentials.creditorId, creditorId), isNull(creditorCredentials.revokedAt)))
        .for('update');
    },
    async revokeCredential(creditorId: string, clientId: string, at: Date): Promise<void> {
      await db
        .update(creditorCredentials)
        .set({ revokedAt: at })
        .where(and(eq(creditorCredentials.creditorId, creditorId), eq(creditorCredentials.clientId, clientId)));
    },
  };
}
