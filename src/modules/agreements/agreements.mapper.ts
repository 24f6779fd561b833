// The agreement as the API returns it (CONTRACT §4.6), and as agreement.* webhook events
// carry it in `data`: one mapping for both.
import { asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { agreementDebts, agreements, parcels, type ParcelStatus } from '../../db/schema/index.js';
import type { AgreementEventData } from '../webhooks/webhooks.events.js';

export type AgreementRow = typeof agreements.$inferSelect;
export type ParcelRow = typeof parcels.$inferSelect;
export type AgreementJson = AgreementEventData;

export function toAgreementJson(agreement: AgreementRow, debtExternalIds: string[], parcelRows: ParcelRow[]): AgreementJson {
  return {
    id: agreement.id,
    status: agreement.status,
    debts: debtExternalIds,
    total_cents: agreement.totalCents,
    discount_cents: agreement.discountCents,
    installments: agreement.installments,
    installment_monthly_rate_pct: agreement.installmentMonthlyRatePct,
    effective_monthly_rate_pct: agreement.effectiveMonthlyRatePct,
    policy_version: agreement.policyVersion,
    accepted_at: agreement.acceptedAt.toISOString(),
    paid_cents: agreement.paidCents,
    parcels: [...parcelRows]
      .sort((a, b) => a.number - b.number)
      .map((p) => ({ number: p.number, due_date: p.dueDate, amount_cents: p.amountCents, status: p.status, paid_at: p.paidAt ? p.paidAt.toISOString() : null })),
  };
}

const UNPAID: readonly ParcelStatus[] = ['pending', 'overdue', 'processing'];

export function isUnpaid(parcel: { status: ParcelStatus }): boolean {
  return UNPAID.includes(parcel.status);
}

/** The lowest-numbered parcel not yet paid (nor cancelled); undefined when none is left. */
export function nextUnpaidParcel<P extends { number: number; status: ParcelStatus }>(parcelRows: readonly P[]): P | undefined {
  let next: P | undefined;
  for (const p of parcelRows) if (isUnpaid(p) && (!next || p.number < next.number)) next = p;
  return next;
}

/** Agreements with their debts and parcels, mapped, in the order of `rows`. */
export async function mapAgreements(db: Executor, rows: AgreementRow[]): Promise<AgreementJson[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [debtRows, parcelRows] = await Promise.all([
    db
      .select({ agreementId: agreementDebts.agreementId, externalId: agreementDebts.externalId })
      .from(agreementDebts)
      .where(inArray(agreementDebts.agreementId, ids))
      .orderBy(asc(agreementDebts.agreementId), asc(agreementDebts.debtId)),
    db.select().from(parcels).where(inArray(parcels.agreementId, ids)),
  ]);
  const debtsOf = new Map<string, string[]>();
  for (const d of debtRows) debtsOf.set(d.agreementId, [...(debtsOf.get(d.agreementId) ?? []), d.externalId]);
  const parcelsOf = new Map<string, ParcelRow[]>();
  for (const p of parcelRows) parcelsOf.set(p.agreementId, [...(parcelsOf.get(p.agreementId) ?? []), p]);
  return rows.map((r) => toAgreementJson(r, debtsOf.get(r.id) ?? [], parcelsOf.get(r.id) ?? []));
}

/** One agreement as the API returns it, read through `db` (pass the transaction inside one). */
export async function loadAgreementJson(db: Executor, agreementId: string): Promise<AgreementJson | undefined> {
  const [row] = await db.select().from(agreements).where(eq(agreements.id, agreementId));
  if (!row) return undefined;
  const [json] = await mapAgreements(db, [row]);
  return json;
}
