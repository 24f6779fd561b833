// Opening a link (CONTRACT §6.1): the token and the CPF together. Wrong CPFs are counted on
// the link row, under its lock, so every instance agrees: 5 wrong tries lock the link for
// 15 minutes, the 3rd lockout revokes it.
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { debtorLinks } from '../../db/schema/index.js';
import { safeEqual, sha256 } from '../../lib/ids.js';
import { hashLinkToken } from './links.service.js';
import { createSessionRepository, linkAliveSql, newSessionSecret } from './session.js';

export const MAX_WRONG_TRIES = 5;
export const LOCK_MS = 15 * 60 * 1000;
export const LOCKOUTS_BEFORE_REVOCATION = 3;

export type AccessResult = { ok: true; cookieValue: string } | { ok: false };

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

export function createAccessService(deps: { db: Db }) {
  const { db } = deps;
  return {
    async open(token: string, cpfInput: string, now: Date): Promise<AccessResult> {
      if (!TOKEN_SHAPE.test(token)) return { ok: false };
      const tokenHash = hashLinkToken(token);
      const cpf = cpfInput.replace(/\D/g, '');
      return db.transaction(async (tx): Promise<AccessResult> => {
        const [link] = await tx
          .select({
            id: debtorLinks.id,
            creditorId: debtorLinks.creditorId,
            cpf: debtorLinks.cpf,
            failedAttempts: debtorLinks.failedAttempts,
            lockedUntil: debtorLinks.lockedUntil,
            lockouts: debtorLinks.lockouts,
            alive: linkAliveSql(now),
          })
          .from(debtorLinks)
          .where(eq(debtorLinks.tokenHash, tokenHash))
          .for('update');
        if (!link || !link.alive) return { ok: false };
        if (link.lockedUntil && link.lockedUntil.getTime() > now.getTime()) return { ok: false };

        if (safeEqual(sha256(cpf), sha256(link.cpf))) {
          if (link.failedAttempts !== 0 || link.lockedUntil) {
            await tx.update(debtorLinks).set({ failedAttempts: 0, lockedUntil: null }).where(eq(debtorLinks.id, link.id));
          }
          const secret = newSessionSecret();
          await createSessionRepository(tx).insert({ id: secret.id, linkId: link.id, creditorId: link.creditorId, cpf: link.cpf, now });
          return { ok: true, cookieValue: secret.cookieValue };
        }

        const failed = link.failedAttempts + 1;
        if (failed < MAX_WRONG_TRIES) {
          await tx.update(debtorLinks).set({ failedAttempts: failed }).where(eq(debtorLinks.id, link.id));
        } else {
          const lockouts = link.lockouts + 1;
          await tx
            .update(debtorLinks)
            .set({
              failedAttempts: 0,
              lockouts,
              lockedUntil: new Date(now.getTime() + LOCK_MS),
              ...(lockouts >= LOCKOUTS_BEFORE_REVOCATION ? { revokedAt: now } : {}),
            })
            .where(eq(debtorLinks.id, link.id));
        }
        return { ok: false };
      });
    },
  };
}
