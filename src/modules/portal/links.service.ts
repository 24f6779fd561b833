// Debtor links (CONTRACT §4.5). The token is HMAC-SHA256(SECRET_KEY, link id): 256
// pseudo-random bits that are never stored (only their SHA-256 is), yet can be derived
// again, so that an idempotent replay of POST /api/v1/links answers the same URL without
// the token ever being written to the database.
import { createHmac } from 'node:crypto';
import { and, eq, gte, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { agreements, debtorLinks, debtors, debts } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { today } from '../../lib/clock.js';
import { addYears } from '../../lib/dates.js';
import { errors } from '../../lib/errors.js';
import { newId, sha256 } from '../../lib/ids.js';
import { createSessionRepository } from './session.js';

export const DEFAULT_LINK_TTL_HOURS = 720;

export function linkTokenFor(secretKey: string, linkId: string): string {
  return createHmac('sha256', sha256(`debtor-link:${secretKey}`)).update(linkId).digest('base64url');
}

export function hashLinkToken(token: string): string {
  return sha256(`debtor-link-token:${token}`);
}

export function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/a/${token}`;
}

export function createLinkService(deps: { db: Db; clock: Clock; secretKey: string; tz: string }) {
  const { db, clock, secretKey, tz } = deps;
  return {
    async create(creditorId: string, cpf: string, ttlHours: number): Promise<{ id: string; token: string; expiresAt: Date }> {
      const now = clock.now();
      // Open debts not prescribed by their date (the prescription job may not have run yet).
      const cutoff = addYears(today(clock, tz), -5);
      const [debt] = await db
        .select({ id: debts.id })
        .from(debts)
        .where(and(eq(debts.creditorId, creditorId), eq(debts.cpf, cpf), eq(debts.status, 'open'), gte(debts.dueDate, cutoff)))
        .limit(1);
      if (!debt) {
        const [agreement] = await db
          .select({ id: agreements.id })
          .from(agreements)
          .where(and(eq(agreements.creditorId, creditorId), eq(agreements.cpf, cpf), inArray(agreements.status, ['pending', 'active'])))
          .limit(1);
        if (!agreement) throw errors.notFound('Open debt or live agreement for this CPF');
      }
      const id = newId();
      const token = linkTokenFor(secretKey, id);
      const expiresAt = new Date(now.getTime() + ttlHours * 3600 * 1000);
      await db.transaction(async (tx) => {
        await tx.insert(debtors).values({ cpf, createdAt: now }).onConflictDoNothing();
        await tx.insert(debtorLinks).values({ id, creditorId, cpf, tokenHash: hashLinkToken(token), expiresAt, createdAt: now });
      });
      return { id, token, expiresAt };
    },

    /** Revokes a link and ends its sessions; 404 for an unknown id or another creditor's. */
    async revoke(creditorId: string, id: string): Promise<void> {
      const now = clock.now();
      await db.transaction(async (tx) => {
        const [link] = await tx.select({ id: debtorLinks.id }).from(debtorLinks).where(and(eq(debtorLinks.id, id), eq(debtorLinks.creditorId, creditorId))).for('update');
        if (!link) throw errors.notFound('Link');
        await tx.update(debtorLinks).set({ revokedAt: now }).where(and(eq(debtorLinks.id, id), isNull(debtorLinks.revokedAt)));
        await createSessionRepository(tx).endAllOfLink(id, now);
      });
    },
  };
}
