// Debtor sessions: the cookie carries a random 256-bit value; the database keeps only its
// SHA-256, with the link, creditor and CPF it was opened for. Sessions end after 30 idle
// minutes (sliding), on **Sair**, and when their link is revoked or dies.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { creditors, debtorLinks, policyVersions, portalSessions } from '../../db/schema/index.js';
import { sha256 } from '../../lib/ids.js';
import type { Policy } from '../negotiation/policy.js';
import { defaultPolicy } from '../negotiation/policy.js';

export const SESSION_COOKIE = 'quita_sessao';
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** last_seen_at is written at most this often, so that reading pages stays read-only. */
export const SESSION_TOUCH_MS = 60 * 1000;

export interface PortalCreditor {
  id: string;
  name: string;
  document: string;
  street: string;
  city: string;
  state: string;
  postalCode: string;
  email: string;
  phone: string | null;
}

export interface PortalSession {
  /** The stored id (SHA-256 of the cookie value). */
  id: string;
  linkId: string;
  creditorId: string;
  cpf: string;
  lastSeenAt: Date;
  creditor: PortalCreditor;
  /** The creditor's current policy. */
  policy: { version: number; policy: Policy };
}

export function newSessionSecret(): { cookieValue: string; id: string } {
  const cookieValue = randomBytes(32).toString('base64url');
  return { cookieValue, id: sha256(cookieValue) };
}

export function sessionIdFromCookie(value: string | undefined): string | undefined {
  if (!value || value.length < 40 || value.length > 64 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  return sha256(value);
}

/** A live link: not revoked, and not expired unless an agreement made through it is live. */
export function linkAliveSql(now: Date) {
  // Qualified by hand: inside a select list drizzle may print a column without its table,
  // and a bare "id" in the subquery would name the agreement's.
  return sql<boolean>`("debtor_links"."revoked_at" IS NULL AND ("debtor_links"."expires_at" > ${now.toISOString()}::timestamptz OR EXISTS (
    SELECT 1 FROM agreements a WHERE a.link_id = "debtor_links"."id" AND a.status IN ('pending', 'active'))))`;
}

export function createSessionRepository(db: Executor) {
  return {
    async insert(row: { id: string; linkId: string; creditorId: string; cpf: string; now: Date }): Promise<void> {
      await db.insert(portalSessions).values({ id: row.id, linkId: row.linkId, creditorId: row.creditorId, cpf: row.cpf, createdAt: row.now, lastSeenAt: row.now });
    },

    /** The live session with its creditor and current policy, in one query; undefined when none. */
    async load(id: string, now: Date): Promise<PortalSession | undefined> {
      const [row] = await db
        .select({
          id: portalSessions.id,
          linkId: portalSessions.linkId,
          creditorId: portalSessions.creditorId,
          cpf: portalSessions.cpf,
          lastSeenAt: portalSessions.lastSeenAt,
          linkAlive: linkAliveSql(now),
          creditor: {
            id: creditors.id,
            name: creditors.name,
            document: creditors.document,
            street: creditors.street,
            city: creditors.city,
            state: creditors.state,
            postalCode: creditors.postalCode,
            email: creditors.email,
            phone: creditors.phone,
          },
          policy: sql<{ version: number; policy: Policy } | null>`(
            SELECT jsonb_build_object('version', pv.version, 'policy', pv.policy) FROM ${policyVersions} pv
            WHERE pv.creditor_id = "portal_sessions"."creditor_id" ORDER BY pv.version DESC LIMIT 1)`,
        })
        .from(portalSessions)
        .innerJoin(debtorLinks, eq(debtorLinks.id, portalSessions.linkId))
        .innerJoin(creditors, eq(creditors.id, portalSessions.creditorId))
        .where(and(eq(portalSessions.id, id), isNull(portalSessions.endedAt)));
      if (!row || !row.linkAlive) return undefined;
      if (now.getTime() - row.lastSeenAt.getTime() > SESSION_IDLE_MS) return undefined;
      const policy = typeof row.policy === 'string' ? (JSON.parse(row.policy) as { version: number; policy: Policy }) : row.policy;
      return {
        id: row.id,
        linkId: row.linkId,
        creditorId: row.creditorId,
        cpf: row.cpf,
        lastSeenAt: row.lastSeenAt,
        creditor: row.creditor,
        policy: policy ?? { version: 0, policy: defaultPolicy() },
      };
    },

    async touch(id: string, now: Date): Promise<void> {
      await db.update(portalSessions).set({ lastSeenAt: now }).where(eq(portalSessions.id, id));
    },

    async end(id: string, now: Date): Promise<void> {
      await db.update(portalSessions).set({ endedAt: now }).where(and(eq(portalSessions.id, id), isNull(portalSessions.endedAt)));
    },

    async endAllOfLink(linkId: string, now: Date): Promise<void> {
      await db.update(portalSessions).set({ endedAt: now }).where(and(eq(portalSessions.linkId, linkId), isNull(portalSessions.endedAt)));
    },
  };
}
