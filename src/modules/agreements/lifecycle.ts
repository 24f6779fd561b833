// The agreement lifecycle (CONTRACT §8): the one place where the status of an agreement or a
// parcel changes, and where a lifecycle transition moves its debts. Every transition is
// checked against the tables below and emits its event in the caller's transaction.
//
//   agreement  pending → active → completed
//              pending → expired | cancelled
//              active  → broken
//   parcel     pending | overdue → processing → paid
//              pending → overdue;  processing → pending | overdue (a payment failed)
//              pending | overdue → cancelled (the agreement expired, broke or was cancelled)
//
// Callers lock the agreement first (`lockAgreement`, FOR UPDATE): every parcel write
// happens under that lock, so two transactions never race on one agreement.
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { agreementDebts, agreements, debts, parcels, type AgreementStatus, type DebtStatus, type ParcelStatus } from '../../db/schema/index.js';
import { today as todayOf, type Clock } from '../../lib/clock.js';
import { calendarDaysBetween, type CalendarDate } from '../../lib/dates.js';
import type { Policy } from '../negotiation/policy.js';
import { emitEvent, type AgreementParcelData } from '../webhooks/webhooks.events.js';
import { isUnpaid, loadAgreementJson, type AgreementRow, type ParcelRow } from './agreements.mapper.js';
import { splitProRata } from './credit.js';

export const AGREEMENT_TRANSITIONS: Readonly<Record<AgreementStatus, readonly AgreementStatus[]>> = {
  pending: ['active', 'expired', 'cancelled'],
  active: ['completed', 'broken'],
  completed: [],
  broken: [],
  expired: [],
  cancelled: [],
};

export const PARCEL_TRANSITIONS: Readonly<Record<ParcelStatus, readonly ParcelStatus[]>> = {
  pending: ['processing', 'paid', 'overdue', 'cancelled'],
  overdue: ['processing', 'paid', 'cancelled'],
  processing: ['paid', 'pending', 'overdue'],
  paid: [],
  cancelled: [],
};

/** A pending agreement expires when today − parcel 1's due date exceeds this. */
export const EXPIRY_GRACE_DAYS = 3;
/** parcel.due_soon goes out when the due date is this many days away or fewer. */
export const DUE_SOON_DAYS = 3;

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

export function isLive(status: AgreementStatus): boolean {
  return status === 'pending' || status === 'active';
}

/**
 * "Now" for one transaction. Events written in it get strictly increasing instants from
 * `next()`, so that created_at orders them as they happened (payment.succeeded, then
 * agreement.activated, then agreement.completed).
 */
export class Stamp {
  private last: number;
  constructor(readonly now: Date) {
    this.last = now.getTime() - 1;
  }
  next(): Date {
    this.last += 1;
    return new Date(this.last);
  }
}

/** A Stamp with the calendar date of its instant on the business calendar (due dates are counted on it). */
export class Moment extends Stamp {
  constructor(
    now: Date,
    readonly today: CalendarDate,
  ) {
    super(now);
  }
  static of(clock: Clock, tz: string): Moment {
    return new Moment(clock.now(), todayOf(clock, tz));
  }
}

/** An agreement locked by this transaction, with its parcels; kept current by the functions below. */
export interface LockedAgreement {
  row: AgreementRow;
  parcels: ParcelRow[];
}

export async function lockAgreement(tx: Executor, id: string): Promise<LockedAgreement | undefined> {
  const [row] = await tx.select().from(agreements).where(eq(agreements.id, id)).for('update');
  if (!row) return undefined;
  const parcelRows = await tx.select().from(parcels).where(eq(parcels.agreementId, id)).orderBy(asc(parcels.number));
  return { row, parcels: parcelRows };
}

function parcelJson(p: ParcelRow): AgreementParcelData {
  return { number: p.number, due_date: p.dueDate, amount_cents: p.amountCents, status: p.status, paid_at: p.paidAt ? p.paidAt.toISOString() : null };
}

async function moveAgreement(tx: Executor, a: LockedAgreement, to: AgreementStatus, m: Stamp): Promise<void> {
  const from = a.row.status;
  if (!AGREEMENT_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError(`agreement ${a.row.id}: ${from} → ${to}`);
  await tx.update(agreements).set({ status: to, updatedAt: m.now }).where(eq(agreements.id, a.row.id));
  a.row.status = to;
  a.row.updatedAt = m.now;
}

async function moveParcels(tx: Executor, a: LockedAgreement, moving: ParcelRow[], to: ParcelStatus, m: Stamp): Promise<void> {
  if (moving.length === 0) return;
  for (const p of moving) {
    if (!PARCEL_TRANSITIONS[p.status].includes(to)) throw new IllegalTransitionError(`parcel ${a.row.id}#${p.number}: ${p.status} → ${to}`);
  }
  const paidAt = to === 'paid' ? m.now : undefined;
  await tx
    .update(parcels)
    .set({ status: to, ...(paidAt ? { paidAt } : {}) })
    .where(and(eq(parcels.agreementId, a.row.id), inArray(parcels.number, moving.map((p) => p.number))));
  for (const p of moving) {
    p.status = to;
    if (paidAt) p.paidAt = paidAt;
  }
}

async function emitAgreement(tx: Executor, a: LockedAgreement, type: 'agreement.activated' | 'agreement.completed' | 'agreement.broken' | 'agreement.expired' | 'agreement.cancelled', m: Stamp): Promise<void> {
  const data = await loadAgreementJson(tx, a.row.id);
  await emitEvent(tx, { creditorId: a.row.creditorId, type, data: data!, at: m.next() });
}

async function emitParcel(tx: Executor, a: LockedAgreement, p: ParcelRow, type: 'parcel.due_soon' | 'parcel.overdue', m: Stamp): Promise<void> {
  const column = type === 'parcel.due_soon' ? { dueSoonNotifiedAt: m.now } : { overdueNotifiedAt: m.now };
  await tx.update(parcels).set(column).where(and(eq(parcels.agreementId, a.row.id), eq(parcels.number, p.number)));
  Object.assign(p, column);
  await emitEvent(tx, { creditorId: a.row.creditorId, type, data: { agreement_id: a.row.id, parcel: parcelJson(p) }, at: m.next() });
}

// ── debts ────────────────────────────────────────────────────────────────────────────────

async function lockDebts(tx: Executor, a: LockedAgreement) {
  const links = await tx
    .select({ debtId: agreementDebts.debtId, principalCents: agreementDebts.principalCents })
    .from(agreementDebts)
    .where(eq(agreementDebts.agreementId, a.row.id))
    .orderBy(asc(agreementDebts.debtId));
  const rows = await tx
    .select({ id: debts.id, amountCents: debts.amountCents, creditedCents: debts.creditedCents, status: debts.status })
    .from(debts)
    .where(and(eq(debts.creditorId, a.row.creditorId), inArray(debts.id, links.map((l) => l.debtId))))
    .orderBy(asc(debts.id))
    .for('update');
  return { links, rows };
}

/** The agreement's debts still held by it (`in_agreement`) become `to`. */
async function releaseDebts(tx: Executor, a: LockedAgreement, to: DebtStatus, m: Stamp): Promise<void> {
  const { rows } = await lockDebts(tx, a);
  const ids = rows.filter((d) => d.status === 'in_agreement').map((d) => d.id);
  if (ids.length === 0) return;
  await tx
    .update(debts)
    .set({ status: to, updatedAt: m.now })
    .where(and(eq(debts.creditorId, a.row.creditorId), inArray(debts.id, ids)));
}

/**
 * Credits `amountCents` to the agreement's debts that are in status `from`, pro rata to the
 * principal each had when the agreement was made; each becomes `open`, or `settled` when its
 * principal reaches 0. A share never takes a debt below 0.
 */
async function creditDebts(tx: Executor, a: LockedAgreement, amountCents: number, from: 'in_agreement' | 'open', m: Stamp): Promise<void> {
  const { links, rows } = await lockDebts(tx, a);
  const shares = splitProRata(amountCents, links.map((l) => ({ key: l.debtId, principal_cents: l.principalCents })));
  for (const d of rows) {
    if (d.status !== from) continue;
    const credit = Math.max(0, Math.min(shares.get(d.id) ?? 0, d.amountCents - d.creditedCents));
    const credited = d.creditedCents + credit;
    const status: DebtStatus = credited >= d.amountCents ? 'settled' : 'open';
    if (credit === 0 && status === d.status) continue;
    await tx
      .update(debts)
      .set({ creditedCents: credited, status, updatedAt: m.now })
      .where(and(eq(debts.creditorId, a.row.creditorId), eq(debts.id, d.id)));
  }
}

// ── transitions ──────────────────────────────────────────────────────────────────────────

export interface PaymentCoverage {
  kind: 'parcel' | 'payoff';
  parcelNumber: number | null;
}

/** The parcels a payment pays: its parcel, or for the payoff every parcel still unpaid. */
export function coveredParcels(a: LockedAgreement, payment: PaymentCoverage): ParcelRow[] {
  if (payment.kind === 'parcel') return a.parcels.filter((p) => p.number === payment.parcelNumber && isUnpaid(p));
  return a.parcels.filter(isUnpaid);
}

/** pending → active once parcel 1 is paid; active → completed (debts settled) once all are. */
async function advance(tx: Executor, a: LockedAgreement, m: Stamp): Promise<void> {
  if (a.row.status === 'pending' && a.parcels.find((p) => p.number === 1)?.status === 'paid') {
    await moveAgreement(tx, a, 'active', m);
    await emitAgreement(tx, a, 'agreement.activated', m);
  }
  if (a.row.status === 'active' && a.parcels.every((p) => p.status === 'paid')) {
    await moveAgreement(tx, a, 'completed', m);
    await releaseDebts(tx, a, 'settled', m);
    await emitAgreement(tx, a, 'agreement.completed', m);
  }
}

/**
 * A payment succeeded (its payment.succeeded already emitted): the money counts in
 * paid_cents. On a live agreement what it pays becomes paid and the agreement moves on as
 * far as it goes. On an agreement no longer live it is credited to the debts that went back
 * to open, like a broken agreement's payments; on a completed one there is nothing left to
 * credit it to.
 */
export async function applyPayment(tx: Executor, a: LockedAgreement, payment: PaymentCoverage & { amountCents: number }, m: Stamp): Promise<void> {
  a.row.paidCents += payment.amountCents;
  await tx.update(agreements).set({ paidCents: a.row.paidCents, updatedAt: m.now }).where(eq(agreements.id, a.row.id));
  if (!isLive(a.row.status)) {
    if (a.row.status !== 'completed') await creditDebts(tx, a, payment.amountCents, 'open', m);
    return;
  }
  await moveParcels(tx, a, coveredParcels(a, payment), 'paid', m);
  await advance(tx, a, m);
}

/** A payment of these parcels is under way (a boleto issued, a transfer clearing). */
export async function markProcessing(tx: Executor, a: LockedAgreement, numbers: number[], m: Moment): Promise<void> {
  if (!isLive(a.row.status)) return;
  const moving = a.parcels.filter((p) => numbers.includes(p.number) && (p.status === 'pending' || p.status === 'overdue'));
  await moveParcels(tx, a, moving, 'processing', m);
}

/** The payment under way failed: its parcels are unpaid again, overdue if their date has passed. */
export async function releaseProcessing(tx: Executor, a: LockedAgreement, numbers: number[], m: Moment): Promise<void> {
  if (!isLive(a.row.status)) return;
  const back = a.parcels.filter((p) => numbers.includes(p.number) && p.status === 'processing');
  const late = back.filter((p) => p.dueDate < m.today);
  await moveParcels(tx, a, back.filter((p) => p.dueDate >= m.today), 'pending', m);
  await moveParcels(tx, a, late, 'overdue', m);
  for (const p of late) if (!p.overdueNotifiedAt) await emitParcel(tx, a, p, 'parcel.overdue', m);
}

async function cancelUnpaid(tx: Executor, a: LockedAgreement, m: Stamp): Promise<void> {
  await moveParcels(tx, a, a.parcels.filter((p) => p.status === 'pending' || p.status === 'overdue'), 'cancelled', m);
}

export type CancelResult = { ok: true } | { ok: false; reason: 'not_pending' | 'processing' };

/** The creditor cancels: only while pending and while no payment is under way. */
export async function cancelAgreement(tx: Executor, a: LockedAgreement, m: Stamp): Promise<CancelResult> {
  if (a.row.status !== 'pending') return { ok: false, reason: 'not_pending' };
  if (a.parcels.some((p) => p.status === 'processing')) return { ok: false, reason: 'processing' };
  await cancelUnpaid(tx, a, m);
  await moveAgreement(tx, a, 'cancelled', m);
  await releaseDebts(tx, a, 'open', m);
  await emitAgreement(tx, a, 'agreement.cancelled', m);
  return { ok: true };
}

function breakAfterDays(a: LockedAgreement): number {
  const policy = (typeof a.row.policy === 'string' ? JSON.parse(a.row.policy) : a.row.policy) as Pick<Policy, 'break_after_days'>;
  return policy.break_after_days;
}

/**
 * What the passing of time does to a live agreement on `m.today`: parcels past their due
 * date become overdue (parcel.overdue, once), parcels due within 3 days are announced
 * (parcel.due_soon, once), a pending agreement whose parcel 1 is more than 3 days late
 * expires, and an active one with a parcel overdue more than break_after_days breaks —
 * neither while a payment is under way. Returns how many things changed.
 */
export async function applyTime(tx: Executor, a: LockedAgreement, m: Moment): Promise<number> {
  if (!isLive(a.row.status)) return 0;
  let changed = 0;
  const late = a.parcels.filter((p) => p.status === 'pending' && p.dueDate < m.today);
  await moveParcels(tx, a, late, 'overdue', m);
  for (const p of a.parcels) {
    if (p.status === 'overdue' && !p.overdueNotifiedAt) {
      await emitParcel(tx, a, p, 'parcel.overdue', m);
      changed += 1;
    }
  }
  for (const p of a.parcels) {
    const daysLeft = calendarDaysBetween(m.today, p.dueDate);
    if (p.status === 'pending' && !p.dueSoonNotifiedAt && daysLeft >= 0 && daysLeft <= DUE_SOON_DAYS) {
      await emitParcel(tx, a, p, 'parcel.due_soon', m);
      changed += 1;
    }
  }
  if (a.parcels.some((p) => p.status === 'processing')) return changed;

  const first = a.parcels.find((p) => p.number === 1);
  if (a.row.status === 'pending' && first && isUnpaid(first) && calendarDaysBetween(first.dueDate, m.today) > EXPIRY_GRACE_DAYS) {
    await cancelUnpaid(tx, a, m);
    await moveAgreement(tx, a, 'expired', m);
    await releaseDebts(tx, a, 'open', m);
    await emitAgreement(tx, a, 'agreement.expired', m);
    return changed + 1;
  }
  const limit = breakAfterDays(a);
  if (a.row.status === 'active' && a.parcels.some((p) => p.status === 'overdue' && calendarDaysBetween(p.dueDate, m.today) > limit)) {
    await cancelUnpaid(tx, a, m);
    await moveAgreement(tx, a, 'broken', m);
    await creditDebts(tx, a, a.row.paidCents, 'in_agreement', m);
    await emitAgreement(tx, a, 'agreement.broken', m);
    return changed + 1;
  }
  return changed;
}
