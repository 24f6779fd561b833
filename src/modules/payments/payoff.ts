// Early payoff (CONTRACT §7, CDC art. 52 §2): the present value of every unpaid parcel at
// the agreement's nominal monthly rate i,
//   Σ amount / (1 + i)^(max(0, days from today to its due date) / 30),
// rounded half away from zero once. A pure function of (parcels, rate, today).
//
// (1 + i)^(d/30) = (1 + i)^q · (1 + i)^(r/30) with d = 30q + r: the whole months are exact
// rationals; the remaining fraction of a month is e^(r/30 · ln(1 + i)), computed in
// 50-digit fixed point. The sum is kept as an exact rational and rounded once, so the
// result is exact whenever every due date is a whole number of 30-day months away, and
// otherwise off the true value by less than 10^-40 centavo.
import { calendarDaysBetween, type CalendarDate } from '../../lib/dates.js';
import { divRound, pctToBasisHundredths } from '../../lib/money.js';

const SCALE = 10n ** 50n;
const BASIS = 10_000n;

/** ln(1 + bh/10000) × SCALE, as 2·atanh(z) with z = bh / (20000 + bh). */
function lnOnePlus(bh: bigint): bigint {
  const zNum = bh;
  const zDen = 2n * BASIS + bh;
  let power = (zNum * SCALE) / zDen; // z^(2k+1) × SCALE
  let sum = 0n;
  for (let k = 1n; power !== 0n; k += 2n) {
    sum += power / k;
    power = (power * zNum * zNum) / (zDen * zDen);
  }
  return 2n * sum;
}

/** e^(x / SCALE) × SCALE for 0 ≤ x ≤ a few SCALE. */
function exp(x: bigint): bigint {
  let sum = SCALE;
  let term = SCALE;
  for (let n = 1n; term !== 0n; n += 1n) {
    term = (term * x) / (SCALE * n);
    sum += term;
  }
  return sum;
}

export interface PayoffParcel {
  amount_cents: number;
  due_date: CalendarDate;
}

/** The early payoff of `unpaid` on `today`, in centavos. */
export function payoffCents(unpaid: readonly PayoffParcel[], monthlyRatePct: number, today: CalendarDate): number {
  const bh = pctToBasisHundredths(monthlyRatePct);
  if (bh < 0n) throw new RangeError('the monthly rate cannot be negative');
  const base = BASIS + bh;
  const ln = bh === 0n ? 0n : lnOnePlus(bh);

  // Parcels grouped by the leftover days r (0–29): within a group one denominator serves all.
  const groups = new Map<number, { qMax: number; terms: { amount: bigint; q: number }[] }>();
  for (const p of unpaid) {
    if (!Number.isSafeInteger(p.amount_cents) || p.amount_cents < 0) throw new RangeError('amount_cents must be a non-negative integer');
    const days = Math.max(0, calendarDaysBetween(today, p.due_date));
    const q = Math.floor(days / 30);
    const r = days - 30 * q;
    const group = groups.get(r) ?? { qMax: 0, terms: [] };
    group.qMax = Math.max(group.qMax, q);
    group.terms.push({ amount: BigInt(p.amount_cents), q });
    groups.set(r, group);
  }

  // Σ over groups of N_r / D_r, with N_r = Σ amount·10000^q·base^(qMax−q)·SCALE and
  // D_r = base^qMax · e^(r/30·ln(1+i))·SCALE.
  let num = 0n;
  let den = 1n;
  for (const [r, group] of groups) {
    let groupNum = 0n;
    for (const t of group.terms) groupNum += t.amount * BASIS ** BigInt(t.q) * base ** BigInt(group.qMax - t.q);
    const fraction = r === 0 ? SCALE : exp((ln * BigInt(r)) / 30n);
    const groupDen = base ** BigInt(group.qMax) * fraction;
    num = num * groupDen + groupNum * SCALE * den;
    den = den * groupDen;
  }
  const cents = divRound(num, den);
  if (cents > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('payoff amount too large');
  return Number(cents);
}
