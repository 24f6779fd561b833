// Agreements: made by the debtor from a stored offer (portal), listed and cancelled by the
// creditor (API). A debt is in at most one live agreement: its row is locked and must be
// `open` in the agreement's own transaction.
import { and, asc, desc, eq, inArray, lt, or } from 'drizzle-orm';
import type { Db, Executor } from '../../db/client.js';
import { agreementDebts, agreements, debts, parcels, type AgreementStatus } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { decodeCursor, page } from '../../lib/pagination.js';
import type { Policy } from '../negotiation/policy.js';
import { emitEvent, notifyOutbox } from '../webhooks/webhooks.events.js';
import { loadAgreementJson, mapAgreements, type AgreementJson } from './agreements.mapper.js';
import { cancelAgreement, lockAgreement, Stamp } from './lifecycle.js';
import type { Offer } from '../negotiation/offers.js';

export interface AgreementDebtTerms {
  id: number;
  external_id: string;
  description: string | null;
  due_date: string;
  principal_cents: number;
  balance_cents: number;
}

export interface NewAgreementInput {
  offerId: string;
  creditorId: string;
  cpf: string;
  linkId: string;
  offer: Offer;
  debts: AgreementDebtTerms[];
  policyVersion: number;
  policy: Policy;
  termsHash: string;
  consent: { at: Date; ip: string; userAgent: string };
}

export type CreateResult =
  | { kind: 'created'; agreementId: string }
  | { kind: 'exists'; agreementId: string }
  | { kind: 'debts_unavailable'; liveAgreementId: string | undefined };

/** The live agreement (pending or active) of one of these debts, if any. */
async function liveAgreementOf(tx: Executor, creditorId: string, debtIds: number[]): Promise<string | undefined> {
  const [row] = await tx
    .select({ id: agreements.id })
    .from(agreementDebts)
    .innerJoin(agreements, eq(agreements.id, agreementDebts.agreementId))
    .where(and(eq(agreementDebts.creditorId, creditorId), inArray(agreementDebts.debtId, debtIds), inArray(agreements.status, ['pending', 'active'])))
    .limit(1);
  return row?.id;
}

/**
 * Makes the agreement of a stored offer inside `tx` (the caller has locked the offer row
 * and checked it): one agreement per offer, debts locked and required `open`,
 * `agreement.created` emitted in the same transaction.
 */
export async function createAgreement(tx: Executor, input: NewAgreementInput): Promise<CreateResult> {
  const [existing] = await tx.select({ id: agreements.id }).from(agreements).where(eq(agreements.offerId, input.offerId));
  if (existing) return { kind: 'exists', agreementId: existing.id };

  const debtIds = [...new Set(input.debts.map((d) => d.id))].sort((a, b) => a - b);
  const locked = await tx
    .select({ id: debts.id, status: debts.status })
    .from(debts)
    .where(and(eq(debts.creditorId, input.creditorId), eq(debts.cpf, input.cpf), inArray(debts.id, debtIds)))
    .orderBy(asc(debts.id))
    .for('update');
  if (locked.length !== debtIds.length || locked.some((d) => d.status !== 'open')) {
    return { kind: 'debts_unavailable', liveAgreementId: await liveAgreementOf(tx, input.creditorId, debtIds) };
  }

  const id = newId();
  const now = input.consent.at;
  const o = input.offer;
  await tx.insert(agreements).values({
    id,
    creditorId: input.creditorId,
    cpf: input.cpf,
    linkId: input.linkId,
    offerId: input.offerId,
    status: 'pending',
    totalCents: o.total_cents,
    discountCents: o.discount_cents,
    installments: o.installments,
    installmentMonthlyRatePct: o.installment_monthly_rate_pct,
    effectiveMonthlyRatePct: o.effective_monthly_rate_pct,
    effectiveAnnualRatePct: o.effective_annual_rate_pct,
    policyVersion: input.policyVersion,
    policy: input.policy,
    acceptedAt: now,
    consentIp: input.consent.ip,
    consentUserAgent: input.consent.userAgent,
    termsHash: input.termsHash,
    createdAt: now,
    updatedAt: now,
  });
  await tx.insert(agreementDebts).values(
    input.debts.map((d) => ({
      agreementId: id,
      creditorId: input.creditorId,
      debtId: d.id,
      externalId: d.external_id,
      description: d.description,
      dueDate: d.due_date,
      principalCents: d.principal_cents,
      balanceCents: d.balance_cents,
    })),
  );
  await tx.insert(parcels).values(o.parcels.map((p) => ({ agreementId: id, creditorId: input.creditorId, number: p.number, dueDate: p.due_date, amountCents: p.amount_cents })));
  await tx
    .update(debts)
    .set({ status: 'in_agreement', updatedAt: now })
    .where(and(eq(debts.creditorId, input.creditorId), inArray(debts.id, debtIds)));
  const data = await loadAgreementJson(tx, id);
  await emitEvent(tx, { creditorId: input.creditorId, type: 'agreement.created', data: data!, at: now });
  return { kind: 'created', agreementId: id };
}

export function createAgreementService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async list(creditorId: string, query: { status?: AgreementStatus; limit: number; cursor?: string }) {
      const cursor = decodeCursor(query.cursor);
      const rows = await db
        .select()
        .from(agreements)
        .where(
          and(
            eq(agreements.creditorId, creditorId),
            query.status ? eq(agreements.status, query.status) : undefined,
            cursor ? or(lt(agreements.createdAt, cursor.createdAt), and(eq(agreements.createdAt, cursor.createdAt), lt(agreements.id, cursor.id))) : undefined,
          ),
        )
        .orderBy(desc(agreements.createdAt), desc(agreements.id))
        .limit(query.limit + 1);
      const shown = rows.slice(0, query.limit);
      const mapped = new Map((await mapAgreements(db, shown)).map((a) => [a.id, a]));
      return page(rows, query.limit, (row) => mapped.get(row.id)!);
    },

    async get(creditorId: string, id: string): Promise<AgreementJson> {
      const [row] = await db.select().from(agreements).where(and(eq(agreements.id, id), eq(agreements.creditorId, creditorId)));
      if (!row) throw errors.notFound('Agreement');
      const [json] = await mapAgreements(db, [row]);
      return json!;
    },

    /** Only while pending, and not while a payment is processing (the debtor is paying). */
    async cancel(creditorId: string, id: string): Promise<AgreementJson> {
      const result = await db.transaction(async (tx) => {
        const a = await lockAgreement(tx, id);
        if (!a || a.row.creditorId !== creditorId) throw errors.notFound('Agreement');
        const cancelled = await cancelAgreement(tx, a, new Stamp(clock.now()));
        if (!cancelled.ok && cancelled.reason === 'not_pending') {
          throw errors.conflict(`The agreement is ${a.row.status}; only a pending agreement can be cancelled.`, 'agreement_not_pending');
        }
        if (!cancelled.ok) throw errors.conflict('A payment of this agreement is being processed; it cannot be cancelled now.', 'payment_processing');
        return (await loadAgreementJson(tx, id))!;
      });
      notifyOutbox();
      return result;
    },
  };
}

export type AgreementService = ReturnType<typeof createAgreementService>;
