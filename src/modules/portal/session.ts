// Debtor sessions: the cookie carries a random 256-bit value; the database keeps only its
// SHA-256, with the link, creditor and CPF it was opened for. Sessions end after 30 idle
// minutes (sliding), on **Sair**, and when their link is revoked or dies.
import { and, eq, isNull, sql, type Placeholder } from 'drizzle-orm';
import { hash, randomBytes } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { creditors, debtorLinks, policyVersions, portalSessions, type AgreementStatus } from '../../db/schema/index.js';
import type { CalendarDate } from '../../lib/dates.js';
import { sha256 } from '../../lib/ids.js';
import { DEFAULT_POLICY, type Policy } from '../negotiation/policy.js';

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
  // sha256(value), one-shot: every logged-in page hashes its cookie
  return hash('sha256', value, 'hex');
}

/** A live link: not revoked, and not expired unless an agreement made through it is live. */
export function linkAliveSql(now: Date | Placeholder) {
  // Qualified by hand: inside a select list drizzle may print a column without its table,
  // and a bare "id" in the subquery would name the agreement's.
  const at = now instanceof Date ? now.toISOString() : now;
  return sql<boolean>`("debtor_links"."revoked_at" IS NULL AND ("debtor_links"."expires_at" > ${at}::timestamptz OR EXISTS (
    SELECT 1 FROM agreements a WHERE a.link_id = "debtor_links"."id" AND a.status IN ('pending', 'active'))))`;
}

/** An open debt as the debts page lists it (`openDebts` in offers.service.ts reads the same rows). */
export interface SessionDebt {
  id: number;
  externalId: string;
  description: string | null;
  dueDate: string;
  amountCents: number;
  creditedCents: number;
}

/** One of the debtor's agreements with the session's creditor, for the debts page. */
export interface SessionAgreement {
  id: string;
  status: AgreementStatus;
  totalCents: number;
  installments: number;
  acceptedAt: Date;
}

export interface DebtsPageData {
  session: PortalSession;
  /** Open, unprescribed debts, oldest due first. */
  debts: SessionDebt[];
  /** Live agreements first, then the newest; at most 50. */
  agreements: SessionAgreement[];
}

type Json<T> = T | string | null;
type DebtTuple = [id: number, externalId: string, description: string | null, dueDate: string, amountCents: number, creditedCents: number];
type AgreementTuple = [id: string, status: AgreementStatus, totalCents: number, installments: number, acceptedAtMs: number];
const parsed = <T>(value: Json<T>, fallback: T): T => (value === null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : value);

/**
 * The session's columns, its link's liveness, its creditor and the creditor's current
 * policy: what every page of a logged-in debtor needs, read in one statement. The scalar
 * columns travel packed in one JSON array: a row of few columns costs less to describe,
 * send and read than one of fifteen (a measurable part of a page).
 */
function sessionSelection() {
  return {
    session: sql<Json<SessionTuple>>`json_build_array(
      "portal_sessions"."id", "portal_sessions"."link_id", "portal_sessions"."creditor_id", "portal_sessions"."cpf",
      (extract(epoch FROM "portal_sessions"."last_seen_at") * 1000)::bigint, ${linkAliveSql(sql.placeholder('now'))},
      "creditors"."id", "creditors"."name", "creditors"."document", "creditors"."street", "creditors"."city", "creditors"."state",
      "creditors"."postal_code", "creditors"."email", "creditors"."phone")`,
    policy: sql<Json<{ version: number; policy: Policy }>>`(
      SELECT jsonb_build_object('version', pv.version, 'policy', pv.policy) FROM ${policyVersions} pv
      WHERE pv.creditor_id = "portal_sessions"."creditor_id" ORDER BY pv.version DESC LIMIT 1)`,
  };
}

type SessionTuple = [
  id: string,
  linkId: string,
  creditorId: string,
  cpf: string,
  lastSeenAtMs: number,
  linkAlive: boolean,
  creditorId: string,
  name: string,
  document: string,
  street: string,
  city: string,
  state: string,
  postalCode: string,
  email: string,
  phone: string | null,
];

type SessionRow = { session: Json<SessionTuple>; policy: Json<{ version: number; policy: Policy }> };

/** Shared by every session without a policy of its own: frozen, so no page can change it for another. */
const DEFAULTS = Object.freeze({ version: 0, policy: DEFAULT_POLICY });

/** The session a row stands for, or undefined when its link died or it has been idle too long. */
function liveSession(row: SessionRow | undefined, now: Date): PortalSession | undefined {
  if (!row || row.session === null) return undefined;
  const [id, linkId, creditorId, cpf, lastSeenAtMs, linkAlive, cid, name, document, street, city, state, postalCode, email, phone] = parsed(row.session, null)!;
  if (!linkAlive) return undefined;
  const lastSeenAt = new Date(Number(lastSeenAtMs));
  if (now.getTime() - lastSeenAt.getTime() > SESSION_IDLE_MS) return undefined;
  return {
    id,
    linkId,
    creditorId,
    cpf,
    lastSeenAt,
    creditor: { id: cid, name, document, street, city, state, postalCode, email, phone },
    // The defaults are deeply frozen: shared by every page, never changed by any.
    policy: parsed(row.policy, DEFAULTS),
  };
}

export function createSessionRepository(db: Executor) {
  // Prepared (named) statements: built once here, parsed and planned once per connection.
  const live = and(eq(portalSessions.id, sql.placeholder('id')), isNull(portalSessions.endedAt));
  const loadSession = db
    .select(sessionSelection())
    .from(portalSessions)
    .innerJoin(debtorLinks, eq(debtorLinks.id, portalSessions.linkId))
    .innerJoin(creditors, eq(creditors.id, portalSessions.creditorId))
    .where(live)
    .prepare('portal_session_load');
  const loadDebtsPage = db
    .select({
      ...sessionSelection(),
      // The same rows as openDebts(): this creditor's open debts of this CPF due on or after
      // the prescription cutoff. Rows as JSON arrays (keyless: cheaper to write and to read).
      debts: sql<Json<DebtTuple[]>>`(
        SELECT json_agg(json_build_array(d.id, d.external_id, d.description, d.due_date, d.amount_cents, d.credited_cents) ORDER BY d.due_date, d.id)
          FROM debts d
         WHERE d.creditor_id = "portal_sessions"."creditor_id" AND d.cpf = "portal_sessions"."cpf" AND d.status = 'open'
           AND d.due_date >= ${sql.placeholder('cutoff')}::date)`,
      // Sorting and limiting costs even an empty list (most debtors have no agreement):
      // an index probe first.
      agreements: sql<Json<AgreementTuple[]>>`CASE WHEN EXISTS (
        SELECT 1 FROM agreements ag WHERE ag.creditor_id = "portal_sessions"."creditor_id" AND ag.cpf = "portal_sessions"."cpf") THEN (
        SELECT json_agg(json_build_array(a.id, a.status, a.total_cents, a.installments, (extract(epoch FROM a.accepted_at) * 1000)::bigint) ORDER BY a.live DESC, a.created_at DESC)
          FROM (SELECT ag.id, ag.status, ag.total_cents, ag.installments, ag.accepted_at, ag.created_at, ag.status IN ('pending', 'active') AS live FROM agreements ag
                 WHERE ag.creditor_id = "portal_sessions"."creditor_id" AND ag.cpf = "portal_sessions"."cpf"
                 ORDER BY live DESC, ag.created_at DESC LIMIT 50) a) END`,
    })
    .from(portalSessions)
    .innerJoin(debtorLinks, eq(debtorLinks.id, portalSessions.linkId))
    .innerJoin(creditors, eq(creditors.id, portalSessions.creditorId))
    .where(live)
    .prepare('portal_session_debts_page');

  return {
    async insert(row: { id: string; linkId: string; creditorId: string; cpf: string; now: Date }): Promise<void> {
      await db.insert(portalSessions).values({ id: row.id, linkId: row.linkId, creditorId: row.creditorId, cpf: row.cpf, createdAt: row.now, lastSeenAt: row.now });
    },

    /** The live session with its creditor and current policy, in one query; undefined when none. */
    async load(id: string, now: Date): Promise<PortalSession | undefined> {
      const [row] = await loadSession.execute({ id, now: now.toISOString() });
      return liveSession(row, now);
    },

    /**
     * The live session and what the debts page lists (open debts due on or after `cutoff`,
     * agreements), in one query; undefined when there is no live session.
     */
    async loadDebtsPage(id: string, now: Date, cutoff: CalendarDate): Promise<DebtsPageData | undefined> {
      const [row] = await loadDebtsPage.execute({ id, now: now.toISOString(), cutoff });
      const session = liveSession(row, now);
      if (!row || !session) return undefined;
      return {
        session,
        debts: parsed(row.debts, []).map(([id, externalId, description, dueDate, amountCents, creditedCents]) => ({ id, externalId, description, dueDate, amountCents, creditedCents })),
        agreements: parsed(row.agreements, []).map(([id, status, totalCents, installments, acceptedAt]) => ({ id, status, totalCents, installments, acceptedAt: new Date(Number(acceptedAt)) })),
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
