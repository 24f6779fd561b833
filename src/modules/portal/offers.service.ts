// Offers shown to a debtor are stored exactly as shown (terms + their hash) with the policy
// version they came from, so that an offer is honoured as shown until it expires, whatever
// the policy has become meanwhile.
import { and, asc, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { debts, offers } from '../../db/schema/index.js';
import { addYears, type CalendarDate } from '../../lib/dates.js';
import { newId, sha256 } from '../../lib/ids.js';
import type { AgreementDebtTerms } from '../agreements/agreements.service.js';
import { computeOffers, type Offer } from '../negotiation/offers.js';
import type { Policy } from '../negotiation/policy.js';
import type { PortalCreditor, PortalSession } from './session.js';

export type DebtRow = Pick<typeof debts.$inferSelect, 'id' | 'externalId' | 'description' | 'dueDate' | 'amountCents' | 'creditedCents'>;
export type OfferRow = typeof offers.$inferSelect;

/** Everything the confirmation page restates; its canonical JSON is hashed into terms_hash. */
export interface OfferTerms {
  creditor: { name: string; document: string; street: string; city: string; state: string; postal_code: string };
  debts: AgreementDebtTerms[];
  balance_cents: number;
  offer: Offer;
  as_of: CalendarDate;
  first_due_date: CalendarDate;
  policy_version: number;
  late: { late_fine_pct: number; monthly_interest_pct: number; break_after_days: number };
}

export interface ShownOffer {
  id: string;
  termsHash: string;
  terms: OfferTerms;
}

/**
 * JSON with keys sorted at every level: jsonb reorders keys, the hash must not depend on it.
 * `memo` keeps the text of objects already written (the offers of one page share their
 * creditor, debts and late terms): only for objects that do not change meanwhile.
 */
export function canonicalJson(value: unknown, memo?: WeakMap<object, string>): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const known = memo?.get(value);
  if (known !== undefined) return known;
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i], memo) ?? ''; // as Array#join writes undefined
    }
    out += ']';
  } else {
    const record = value as Record<string, unknown>;
    out = '{';
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (v === undefined) continue;
      if (out.length > 1) out += ',';
      out += `${JSON.stringify(key)}:${canonicalJson(v, memo)}`;
    }
    out += '}';
  }
  memo?.set(value, out);
  return out;
}

export function termsHashOf(terms: OfferTerms, memo?: WeakMap<object, string>): string {
  return sha256(canonicalJson(terms, memo));
}

let lastCutoff: [CalendarDate, CalendarDate] = ['', ''];
/** Due dates strictly before this are prescribed (Código Civil art. 206 §5 I). */
export function prescriptionCutoff(today: CalendarDate): CalendarDate {
  // every page asks with the same day: the last answer is kept
  if (lastCutoff[0] !== today) lastCutoff = [today, addYears(today, -5)];
  return lastCutoff[1];
}

/** The debtor's open, unprescribed debts with this creditor (only `ids` when given), oldest due first. */
export async function openDebts(db: Executor, session: Pick<PortalSession, 'creditorId' | 'cpf'>, today: CalendarDate, ids?: number[]): Promise<DebtRow[]> {
  if (ids && ids.length === 0) return [];
  return db
    .select({ id: debts.id, externalId: debts.externalId, description: debts.description, dueDate: debts.dueDate, amountCents: debts.amountCents, creditedCents: debts.creditedCents })
    .from(debts)
    .where(
      and(
        eq(debts.creditorId, session.creditorId),
        eq(debts.cpf, session.cpf),
        eq(debts.status, 'open'),
        gte(debts.dueDate, prescriptionCutoff(today)),
        ids ? inArray(debts.id, ids) : undefined,
      ),
    )
    .orderBy(asc(debts.dueDate), asc(debts.id));
}

function creditorTerms(c: PortalCreditor): OfferTerms['creditor'] {
  return { name: c.name, document: c.document, street: c.street, city: c.city, state: c.state, postal_code: c.postalCode };
}

/** The offers for these debts (pure), each with the terms the pages show. */
export function buildOffers(input: { creditor: PortalCreditor; debts: DebtRow[]; policyVersion: number; policy: Policy; asOf: CalendarDate; firstDueDate: CalendarDate }): { balanceCents: number; terms: OfferTerms[] } {
  const result = computeOffers({
    debts: input.debts.map((d) => ({ amount_cents: d.amountCents, credited_cents: d.creditedCents, due_date: d.dueDate })),
    policy: input.policy,
    asOf: input.asOf,
    firstDueDate: input.firstDueDate,
  });
  const debtTerms: AgreementDebtTerms[] = input.debts.map((d, i) => ({
    id: d.id,
    external_id: d.externalId,
    description: d.description,
    due_date: d.dueDate,
    principal_cents: result.debts[i]!.principal_cents,
    balance_cents: result.debts[i]!.balance_cents,
  }));
  const common = {
    creditor: creditorTerms(input.creditor),
    debts: debtTerms,
    balance_cents: result.balance_cents,
    as_of: input.asOf,
    first_due_date: input.firstDueDate,
    policy_version: input.policyVersion,
    late: { late_fine_pct: input.policy.late_fine_pct, monthly_interest_pct: input.policy.monthly_interest_pct, break_after_days: input.policy.break_after_days },
  };
  return { balanceCents: result.balance_cents, terms: result.offers.map((offer) => ({ ...common, offer })) };
}

/** Stores the offers as shown, in one statement; they expire `offer_validity_hours` from now. */
export async function storeOffers(db: Executor, session: PortalSession, terms: OfferTerms[], policy: Policy, now: Date): Promise<ShownOffer[]> {
  if (terms.length === 0) return [];
  const expiresAt = new Date(now.getTime() + policy.offer_validity_hours * 3600 * 1000);
  const memo = new WeakMap<object, string>();
  const shown = terms.map((t) => ({ id: newId(), termsHash: termsHashOf(t, memo), terms: t }));
  // One statement whatever the number of offers, each offer a row of one JSON array
  // (drizzle's many-row INSERT cost more to build than everything else on the page).
  const rows = shown.map((o) => ({
    id: o.id,
    debt_ids: o.terms.debts.map((d) => d.id),
    policy_version: o.terms.policy_version,
    as_of: o.terms.as_of,
    first_due_date: o.terms.first_due_date,
    kind: o.terms.offer.kind,
    installments: o.terms.offer.installments,
    terms: o.terms,
    terms_hash: o.termsHash,
  }));
  await db.execute(sql`
    INSERT INTO offers (id, creditor_id, cpf, session_id, link_id, debt_ids, policy_version, as_of, first_due_date, kind, installments, terms, terms_hash, created_at, expires_at)
    SELECT o.id, ${session.creditorId}::uuid, ${session.cpf}, ${session.id}, ${session.linkId}::uuid, o.debt_ids, o.policy_version, o.as_of, o.first_due_date,
           o.kind, o.installments, o.terms, o.terms_hash, ${now.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        AS o(id uuid, debt_ids bigint[], policy_version int, as_of date, first_due_date date, kind text, installments int, terms jsonb, terms_hash text)`);
  return shown;
}

export type OfferCheck =
  | { ok: true; offer: OfferRow; terms: OfferTerms }
  | { ok: false; problem: 'tampered' }
  | { ok: false; problem: 'expired'; offer: OfferRow };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An offer this session was shown, unaltered and unexpired. Unknown ids, another session's
 * offer, a hash that does not match (the form's, or the stored terms') are all "tampered".
 */
export async function checkOffer(db: Executor, session: PortalSession, offerId: string, formHash: string | undefined, now: Date, opts: { lock?: boolean } = {}): Promise<OfferCheck> {
  if (!UUID.test(offerId)) return { ok: false, problem: 'tampered' };
  const query = db.select().from(offers).where(eq(offers.id, offerId.toLowerCase()));
  const [offer] = opts.lock ? await query.for('update') : await query;
  if (!offer || offer.sessionId !== session.id || offer.creditorId !== session.creditorId || offer.cpf !== session.cpf) return { ok: false, problem: 'tampered' };
  const terms = (typeof offer.terms === 'string' ? JSON.parse(offer.terms) : offer.terms) as OfferTerms;
  if (termsHashOf(terms) !== offer.termsHash) return { ok: false, problem: 'tampered' };
  if (formHash !== undefined && formHash !== offer.termsHash) return { ok: false, problem: 'tampered' };
  if (offer.expiresAt.getTime() <= now.getTime()) return { ok: false, problem: 'expired', offer };
  return { ok: true, offer, terms };
}
