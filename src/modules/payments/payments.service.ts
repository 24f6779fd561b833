// Payments (CONTRACT §7): what may be paid now, the payment row an attempt uses, and the one
// settle path that the sandbox, Stripe's webhooks and the early payoff all go through.
// Lock order everywhere: the payment row, then the agreement row (then its parcels and
// debts, inside lifecycle.ts).
import { and, desc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { Db, Executor } from '../../db/client.js';
import { payments, type PaymentDisplay, type PaymentKind, type PaymentMethod, type PaymentProvider, type PaymentStatus } from '../../db/schema/index.js';
import { newId } from '../../lib/ids.js';
import { isUnpaid, nextUnpaidParcel } from '../agreements/agreements.mapper.js';
import { applyPayment, coveredParcels, isLive, lockAgreement, markProcessing, releaseProcessing, type LockedAgreement, type Moment } from '../agreements/lifecycle.js';
import { emitEvent, type PaymentEventData } from '../webhooks/webhooks.events.js';
import { payoffCents } from './payoff.js';

export type PaymentRow = typeof payments.$inferSelect;
export type PaymentTarget = { kind: 'parcel'; parcelNumber: number } | { kind: 'payoff' };

export const CURRENCY = 'brl';

export function toPaymentJson(p: PaymentRow): PaymentEventData {
  return {
    id: p.id,
    agreement_id: p.agreementId,
    parcel_number: p.parcelNumber,
    amount_cents: p.amountCents,
    method: p.method,
    status: p.status,
    created_at: p.createdAt.toISOString(),
    paid_at: p.paidAt ? p.paidAt.toISOString() : null,
    failure_message: p.failureMessage,
  };
}

export type Payable =
  | { ok: true; amountCents: number; parcelNumbers: number[] }
  | { ok: false; reason: 'not_live' | 'not_next' | 'paid' | 'processing' | 'nothing_due' };

/**
 * What the debtor may pay on `today`: the next unpaid parcel (only that one), or the early
 * payoff of every unpaid parcel; neither while a payment of it is under way.
 */
export function payable(a: LockedAgreement, target: PaymentTarget, today: string): Payable {
  if (!isLive(a.row.status)) return { ok: false, reason: 'not_live' };
  const unpaid = a.parcels.filter(isUnpaid);
  if (unpaid.length === 0) return { ok: false, reason: 'nothing_due' };
  if (target.kind === 'parcel') {
    const parcel = a.parcels.find((p) => p.number === target.parcelNumber);
    if (parcel?.status === 'paid') return { ok: false, reason: 'paid' };
    if (!parcel || nextUnpaidParcel(a.parcels)?.number !== parcel.number) return { ok: false, reason: 'not_next' };
    if (parcel.status === 'processing') return { ok: false, reason: 'processing' };
    return { ok: true, amountCents: parcel.amountCents, parcelNumbers: [parcel.number] };
  }
  if (unpaid.some((p) => p.status === 'processing')) return { ok: false, reason: 'processing' };
  const amountCents = payoffCents(
    unpaid.map((p) => ({ amount_cents: p.amountCents, due_date: p.dueDate })),
    a.row.installmentMonthlyRatePct,
    today,
  );
  return { ok: true, amountCents, parcelNumbers: unpaid.map((p) => p.number) };
}

export function pixExpired(p: Pick<PaymentRow, 'display'>, now: Date): boolean {
  const expiresAt = p.display?.pix?.expires_at;
  return typeof expiresAt === 'string' && new Date(expiresAt) <= now;
}

export type OpenResult =
  | { ok: true; payment: PaymentRow; created: boolean }
  | { ok: false; reason: Extract<Payable, { ok: false }>['reason'] | 'amount_changed' | 'not_found' };

/**
 * The payment row for an attempt, created or reused: a payment of the same target and
 * amount still `pending` with this provider is reused (a reload, a second tab, a retried
 * POST), so that it keeps its one PaymentIntent. Serialised by the agreement's lock.
 */
export async function openPayment(
  db: Db,
  input: { agreementId: string; creditorId: string; target: PaymentTarget; method: PaymentMethod; provider: PaymentProvider; expectedCents?: number; m: Moment },
): Promise<OpenResult> {
  const result = await db.transaction(async (tx): Promise<OpenResult> => {
    const a = await lockAgreement(tx, input.agreementId);
    if (!a || a.row.creditorId !== input.creditorId) return { ok: false, reason: 'not_found' };
    const check = payable(a, input.target, input.m.today);
    if (!check.ok) return check;
    if (input.expectedCents !== undefined && input.expectedCents !== check.amountCents) return { ok: false, reason: 'amount_changed' };
    const parcelNumber = input.target.kind === 'parcel' ? input.target.parcelNumber : null;
    const candidates = await tx
      .select()
      .from(payments)
      .where(
        and(
          eq(payments.agreementId, a.row.id),
          eq(payments.kind, input.target.kind),
          parcelNumber === null ? isNull(payments.parcelNumber) : eq(payments.parcelNumber, parcelNumber),
          eq(payments.provider, input.provider),
          eq(payments.amountCents, check.amountCents),
          eq(payments.status, 'pending'),
        ),
      )
      .orderBy(desc(payments.createdAt))
      .limit(5);
    // A payment whose Pix code expired is spent: a new one gets a new PaymentIntent and a fresh code.
    const existing = candidates.find((p) => !pixExpired(p, input.m.now));
    if (existing) return { ok: true, payment: existing, created: false };
    const [created] = await tx
      .insert(payments)
      .values({
        id: newId(),
        creditorId: a.row.creditorId,
        agreementId: a.row.id,
        kind: input.target.kind as PaymentKind,
        parcelNumber,
        amountCents: check.amountCents,
        method: input.method,
        provider: input.provider,
        status: 'pending',
        createdAt: input.m.now,
        updatedAt: input.m.now,
      })
      .returning();
    return { ok: true, payment: created!, created: true };
  });
  if (!result.ok || result.payment.method === input.method) return result;
  // The debtor chose another way to pay the same payment (one PaymentIntent serves them all).
  // Written outside the agreement's lock: a settle holding this payment's lock never waits on us.
  const [updated] = await db
    .update(payments)
    .set({ method: input.method, updatedAt: input.m.now })
    .where(and(eq(payments.id, result.payment.id), eq(payments.status, 'pending')))
    .returning();
  return { ...result, payment: updated ?? result.payment };
}

export type PaymentLocator = { id: string } | { providerRef: string; fallbackId?: string | undefined };

/** The payment row, locked (FOR UPDATE). A Stripe event may name our id in metadata before provider_ref is stored. */
export async function lockPayment(tx: Executor, locator: PaymentLocator): Promise<PaymentRow | undefined> {
  if ('id' in locator) {
    const [row] = await tx.select().from(payments).where(eq(payments.id, locator.id)).for('update');
    return row;
  }
  const [row] = await tx.select().from(payments).where(eq(payments.providerRef, locator.providerRef)).for('update');
  if (row || !locator.fallbackId || !/^[0-9a-f-]{36}$/i.test(locator.fallbackId)) return row;
  const [byId] = await tx
    .select()
    .from(payments)
    .where(and(eq(payments.id, locator.fallbackId), eq(payments.provider, 'stripe'), isNull(payments.providerRef)))
    .for('update');
  if (!byId) return undefined;
  const [updated] = await tx.update(payments).set({ providerRef: locator.providerRef }).where(eq(payments.id, byId.id)).returning();
  return updated;
}

export type SettleResult =
  | { kind: 'settled'; payment: PaymentRow }
  | { kind: 'already'; payment: PaymentRow }
  | { kind: 'mismatch'; payment: PaymentRow; detail: string }
  | { kind: 'unknown' };

/**
 * The one settle path. Locks the payment, then its agreement; a payment already succeeded
 * changes nothing; the amount and currency must be what was asked. Marks it succeeded,
 * emits payment.succeeded, and lets the lifecycle pay the parcels and move the agreement.
 */
export async function settlePayment(
  tx: Executor,
  input: { locator: PaymentLocator; amountCents: number; currency: string; method?: PaymentMethod; m: Moment },
): Promise<SettleResult> {
  const payment = await lockPayment(tx, input.locator);
  if (!payment) return { kind: 'unknown' };
  if (payment.status === 'succeeded') return { kind: 'already', payment };
  if (input.currency.toLowerCase() !== CURRENCY || input.amountCents !== payment.amountCents) {
    return { kind: 'mismatch', payment, detail: `received ${input.amountCents} ${input.currency}, expected ${payment.amountCents} ${CURRENCY}` };
  }
  const a = await lockAgreement(tx, payment.agreementId);
  if (!a) return { kind: 'unknown' };
  const [paid] = await tx
    .update(payments)
    .set({ status: 'succeeded', paidAt: input.m.now, failureMessage: null, updatedAt: input.m.now, ...(input.method ? { method: input.method } : {}) })
    .where(eq(payments.id, payment.id))
    .returning();
  await emitEvent(tx, { creditorId: payment.creditorId, type: 'payment.succeeded', data: toPaymentJson(paid!), at: input.m.next() });
  await applyPayment(tx, a, { kind: payment.kind, parcelNumber: payment.parcelNumber, amountCents: payment.amountCents }, input.m);
  return { kind: 'settled', payment: paid! };
}

const STATUS_RANK: Record<PaymentStatus, number> = { pending: 0, processing: 1, failed: 2, succeeded: 3 };

/**
 * Whether a provider event created at `eventAt` saying `to` may still change the payment:
 * never once it succeeded, never when an event created later was already applied (and, for
 * events of the same second, only towards a later status).
 */
export function isNewer(payment: PaymentRow, to: PaymentStatus, eventAt: Date | undefined): boolean {
  if (payment.status === 'succeeded') return false;
  if (!eventAt || !payment.providerEventAt) return true;
  const diff = eventAt.getTime() - payment.providerEventAt.getTime();
  return diff > 0 || (diff === 0 && STATUS_RANK[to] > STATUS_RANK[payment.status]);
}

/** Parcels covered by the payment that no other payment under way also covers. */
async function parcelsOnlyThisCovers(tx: Executor, a: LockedAgreement, payment: PaymentRow): Promise<number[]> {
  const numbers = coveredParcels(a, payment).map((p) => p.number);
  const others = await tx
    .select({ kind: payments.kind, parcelNumber: payments.parcelNumber })
    .from(payments)
    .where(and(eq(payments.agreementId, a.row.id), eq(payments.status, 'processing'), ne(payments.id, payment.id)));
  const held = new Set(others.flatMap((o) => coveredParcels(a, o).map((p) => p.number)));
  return numbers.filter((n) => !held.has(n));
}

/** A payment under way (PaymentIntent processing, a boleto issued): its parcels are `processing`. */
export async function markPaymentProcessing(tx: Executor, payment: PaymentRow, input: { display?: PaymentDisplay; eventAt?: Date; method?: PaymentMethod; m: Moment }): Promise<boolean> {
  if (!isNewer(payment, 'processing', input.eventAt) || payment.status === 'processing') {
    if (payment.status === 'processing' && input.display) await saveDisplay(tx, payment, input.display, input.m);
    return false;
  }
  const a = await lockAgreement(tx, payment.agreementId);
  await tx
    .update(payments)
    .set({
      status: 'processing',
      updatedAt: input.m.now,
      ...(input.eventAt ? { providerEventAt: input.eventAt } : {}),
      ...(input.display ? { display: { ...(payment.display ?? {}), ...input.display } } : {}),
      ...(input.method ? { method: input.method } : {}),
    })
    .where(eq(payments.id, payment.id));
  if (a) await markProcessing(tx, a, coveredParcels(a, payment).map((p) => p.number), input.m);
  return true;
}

/** A failed attempt: recorded and emitted once; its parcels are unpaid again. */
export async function recordPaymentFailure(tx: Executor, payment: PaymentRow, input: { message: string; eventAt?: Date; m: Moment }): Promise<boolean> {
  if (payment.status === 'failed' || !isNewer(payment, 'failed', input.eventAt)) return false;
  const a = await lockAgreement(tx, payment.agreementId);
  const [failed] = await tx
    .update(payments)
    .set({ status: 'failed', failureMessage: input.message, updatedAt: input.m.now, ...(input.eventAt ? { providerEventAt: input.eventAt } : {}) })
    .where(eq(payments.id, payment.id))
    .returning();
  await emitEvent(tx, { creditorId: payment.creditorId, type: 'payment.failed', data: toPaymentJson(failed!), at: input.m.next() });
  if (a && payment.status === 'processing') await releaseProcessing(tx, a, await parcelsOnlyThisCovers(tx, a, payment), input.m);
  return true;
}

export async function saveDisplay(db: Executor, payment: PaymentRow, display: PaymentDisplay, m: Moment): Promise<void> {
  await db
    .update(payments)
    .set({ display: { ...(payment.display ?? {}), ...display }, updatedAt: m.now })
    .where(eq(payments.id, payment.id));
}

/** A payment of this agreement under way or waiting for the debtor: a Pix code still valid, a boleto not yet cleared. */
export async function paymentsInProgress(db: Executor, agreementId: string, now: Date): Promise<PaymentRow[]> {
  const rows = await db
    .select()
    .from(payments)
    .where(and(eq(payments.agreementId, agreementId), inArray(payments.status, ['pending', 'processing'])))
    .orderBy(desc(payments.createdAt));
  return rows.filter((p) => {
    if (p.status === 'processing') return true;
    const pix = p.display?.pix;
    return pix !== undefined && (pix.expires_at === null || new Date(pix.expires_at) > now);
  });
}
