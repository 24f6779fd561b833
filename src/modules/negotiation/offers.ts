// The negotiation engine (contract §3): updated balances and offers, as a pure function of
// (debts, policy, date, first due date). No I/O, no clock. Every amount is computed in
// BigInt on exact rationals and rounded half away from zero only where §3 says; numbers
// come out only at the end (a RangeError if one would not be a safe integer).
//
// Choices where §3 is silent (documented in the project docs):
// - credited_cents above amount_cents leaves a principal of 0, never a negative one.
// - When the summed cash price is 0 (every debt fully credited, no debts, or a tiny balance
//   under a 99.99 % cash discount) there are NO offers at all: an agreement for nothing
//   cannot be paid, and §3 already drops every plan in that case.
// - Besides §3's conditions (round(PMT) ≥ min_installment_cents, cash_cents > 0), a plan
//   is offered only when every parcel is at least 1 centavo (with a small minimum and many
//   parcels the last one, round(PMT×n) − (n−1)×round(PMT), could be 0 or negative).
// - When parcel 1 alone already costs as much as paying everything at once (a cash discount
//   far above the installment discount) no rate r makes the parcels worth cash_cents: the
//   plan is still offered, as §3 says, with its effective rates reported at
//   EFFECTIVE_RATE_CAP (999,999.99 % a month, and that rate compounded over 12 months).
// - Bands are looked up by value, whatever their order; of two bands with the same
//   min_days_overdue the one listed first wins (a valid policy has neither case).
import { divRound, pctToBasisHundredths } from '../../lib/money.js';
import { addCalendarMonths, dateParts, epochDay, type CalendarDate } from '../../lib/dates.js';
import { DEFAULT_POLICY, type Policy } from './policy.js';

export type DebtInput = { amount_cents: number; credited_cents?: number; due_date: CalendarDate };

export type Parcel = { number: number; due_date: CalendarDate; amount_cents: number };

export type Offer = {
  kind: 'cash' | 'installments';
  installments: number;
  total_cents: number;
  discount_cents: number;
  installment_monthly_rate_pct: number;
  effective_monthly_rate_pct: number;
  effective_annual_rate_pct: number;
  parcels: Parcel[];
};

export type DebtBreakdown = {
  /** P = amount_cents − credited_cents (never below 0) */
  principal_cents: number;
  /** d = max(0, asOf − due_date), calendar days */
  days_overdue: number;
  /** F */
  fine_cents: number;
  /** J */
  interest_cents: number;
  /** B = P + F + J */
  balance_cents: number;
  /** index in policy.bands of the debt's discount band; null when no band applies (0 % discounts) */
  band_index: number | null;
  /** B − round(B × cash_discount_pct / 100) */
  cash_cents: number;
  /** S = B − round(B × installment_discount_pct / 100) */
  installment_base_cents: number;
};

export type OffersInput = {
  debts: readonly DebtInput[];
  policy: Policy;
  asOf: CalendarDate;
  firstDueDate: CalendarDate;
};

export type OffersResult = {
  /** sum of B */
  balance_cents: number;
  debts: DebtBreakdown[];
  /** cash first, then plans by ascending n; empty when the cash price is 0 */
  offers: Offer[];
};

const BASIS = 10_000n; // a percentage with two decimals is an integer number of 1/10000
const THIRTY_BASIS = 30n * BASIS;

type CompiledBand = { index: number; min: number; cash: bigint; installment: bigint };

type CompiledPolicy = {
  fine: bigint;
  interest: bigint;
  /** by descending min_days_overdue; among equal ones, the first listed first */
  bands: CompiledBand[];
  rate: bigint;
  ratePct: number;
  maxInstallments: number;
  minInstallment: bigint;
};

let compiledDefaults: CompiledPolicy | undefined;

/** Freezes an object and every object or array inside it (the shared compiled defaults). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function compilePolicy(policy: Policy): CompiledPolicy {
  // The contract's defaults (every creditor without a policy of its own) are deeply frozen: compiled once.
  if (policy === DEFAULT_POLICY) return (compiledDefaults ??= deepFreeze(compile(policy)));
  return compile(policy);
}

function compile(policy: Policy): CompiledPolicy {
  const bands = policy.bands
    .map((band, index) => {
      if (!Number.isSafeInteger(band.min_days_overdue)) {
        throw new RangeError(`bands.${index}.min_days_overdue must be an integer`);
      }
      return {
        index,
        min: band.min_days_overdue,
        cash: pctToBasisHundredths(band.cash_discount_pct),
        installment: pctToBasisHundredths(band.installment_discount_pct),
      };
    })
    .sort((a, b) => b.min - a.min || a.index - b.index);
  const rate = pctToBasisHundredths(policy.installment_monthly_rate_pct);
  if (rate <= -BASIS) throw new RangeError('installment_monthly_rate_pct must be above -100');
  if (!Number.isSafeInteger(policy.max_installments)) throw new RangeError('max_installments must be an integer');
  if (!Number.isSafeInteger(policy.min_installment_cents)) {
    throw new RangeError('min_installment_cents must be an integer');
  }
  return {
    fine: pctToBasisHundredths(policy.late_fine_pct),
    interest: pctToBasisHundredths(policy.monthly_interest_pct),
    bands,
    rate,
    ratePct: Number(rate) / 100,
    maxInstallments: policy.max_installments,
    minInstallment: BigInt(policy.min_installment_cents),
  };
}

type Breakdown = {
  principal: bigint;
  days: number;
  fine: bigint;
  interest: bigint;
  balance: bigint;
  band: number | null;
  cash: bigint;
  base: bigint;
};

function cents(value: number | undefined, name: string): bigint {
  if (value === undefined) return 0n;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number of centavos ≥ 0`);
  return BigInt(value);
}

function breakdown(debt: DebtInput, cp: CompiledPolicy, asOfDay: number): Breakdown {
  const amount = cents(debt.amount_cents, 'amount_cents');
  const credited = cents(debt.credited_cents, 'credited_cents');
  const principal = amount > credited ? amount - credited : 0n;
  const days = Math.max(0, asOfDay - epochDay(debt.due_date));
  const fine = days > 0 ? divRound(principal * cp.fine, BASIS) : 0n;
  // J = round(P × pct/100 × d/30) = round(P × pct_hundredths × d / (10000 × 30))
  const interest = divRound(principal * cp.interest * BigInt(days), THIRTY_BASIS);
  const balance = principal + fine + interest;
  let band: CompiledBand | undefined;
  for (const candidate of cp.bands) {
    if (candidate.min <= days) {
      band = candidate;
      break;
    }
  }
  const cash = band ? balance - divRound(balance * band.cash, BASIS) : balance;
  const base = band ? balance - divRound(balance * band.installment, BASIS) : balance;
  return { principal, days, fine, interest, balance, band: band ? band.index : null, cash, base };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

function toNumber(value: bigint): number {
  if (value > MAX_SAFE || value < MIN_SAFE) {
    throw new RangeError(`amount ${value} centavos is beyond the safe integer range`);
  }
  return Number(value);
}

function publicBreakdown(b: Breakdown): DebtBreakdown {
  return {
    principal_cents: toNumber(b.principal),
    days_overdue: b.days,
    fine_cents: toNumber(b.fine),
    interest_cents: toNumber(b.interest),
    balance_cents: toNumber(b.balance),
    band_index: b.band,
    cash_cents: toNumber(b.cash),
    installment_base_cents: toNumber(b.base),
  };
}

/**
 * Updated balances and prices on `asOf` (§3) of any number of debts under one policy: the
 * policy is checked and compiled once, here, not once per debt (a page lists many).
 */
export function balanceCalculator(policy: Policy, asOf: CalendarDate): (debt: DebtInput) => DebtBreakdown {
  const cp = compilePolicy(policy);
  const asOfDay = epochDay(asOf);
  return (debt) => publicBreakdown(breakdown(debt, cp, asOfDay));
}

/** One debt's updated balance and prices on `asOf` (§3). */
export function updatedBalance(debt: DebtInput, policy: Policy, asOf: CalendarDate): DebtBreakdown {
  return balanceCalculator(policy, asOf)(debt);
}

/** half away from zero to two decimals; never -0 */
function round2(value: number): number {
  const rounded = (Math.sign(value) * Math.round(Math.abs(value) * 100)) / 100;
  return rounded === 0 ? 0 : rounded;
}

/**
 * The monthly rate r at which `parcels` (parcel k discounted by (1 + r)^(k−1)) are worth
 * `cash`, unrounded; null when none exists (parcel 1 ≥ cash, or a parcel ≤ 0 after the
 * first). Solved in v = 1/(1 + r): g(v) = Σ p_k v^(k−1) − cash is increasing and convex on
 * v > 0 with g(0) = p_1 − cash < 0, so its single root is bracketed and found by Newton's
 * method safeguarded with bisection.
 */
export function effectiveMonthlyRate(parcels: readonly (number | bigint)[], cash: number | bigint): number | null {
  const p = parcels.map(Number);
  const target = Number(cash);
  const n = p.length;
  if (n === 0 || !(p[0]! < target)) return null;
  for (let k = 1; k < n; k++) if (!(p[k]! > 0)) return null;
  if (n === 1) return null;
  // g and g' by Horner
  const evaluate = (v: number): [number, number] => {
    let g = p[n - 1]!;
    let dg = 0;
    for (let k = n - 2; k >= 0; k--) {
      dg = dg * v + g;
      g = g * v + p[k]!;
    }
    return [g - target, dg];
  };
  let lo = 0;
  let hi = 1;
  let [g, dg] = evaluate(hi);
  while (g < 0) {
    lo = hi;
    hi *= 2;
    [g, dg] = evaluate(hi);
    if (!Number.isFinite(g)) break;
  }
  if (g === 0) return 1 / hi - 1;
  let v = hi;
  let previousStep = hi - lo;
  let step = previousStep;
  for (let iteration = 0; iteration < 200; iteration++) {
    const newton = v - g / dg;
    if (!(newton > lo && newton < hi) || Math.abs(2 * g) > Math.abs(previousStep * dg)) {
      previousStep = step;
      step = (hi - lo) / 2;
      v = lo + step;
    } else {
      previousStep = step;
      step = v - newton;
      v = newton;
    }
    if (Math.abs(step) <= 1e-15 * v || hi - lo <= 1e-15 * hi) break;
    [g, dg] = evaluate(v);
    if (g === 0) break;
    if (g < 0) lo = v;
    else hi = v;
  }
  return 1 / v - 1;
}

/** The monthly effective rate reported when none exists: 999,999.99 % a month. */
export const EFFECTIVE_RATE_CAP = 9999.9999;

/** Offers for one creditor's debts negotiated together (§3). Pure. */
export function computeOffers(input: OffersInput): OffersResult {
  const cp = compilePolicy(input.policy);
  const asOfDay = epochDay(input.asOf);
  dateParts(input.firstDueDate);

  let balance = 0n;
  let cash = 0n;
  let base = 0n;
  const debts: DebtBreakdown[] = [];
  for (const debt of input.debts) {
    const b = breakdown(debt, cp, asOfDay);
    balance += b.balance;
    cash += b.cash;
    base += b.base;
    debts.push(publicBreakdown(b));
  }
  const balanceCents = toNumber(balance);
  const offers: Offer[] = [];
  // A cash price of 0 (nothing left to pay, or a balance of a few reais under a 99.99 %
  // discount) gives no offers at all: see the header.
  if (cash <= 0n) return { balance_cents: balanceCents, debts, offers };

  const cashCents = toNumber(cash);
  offers.push({
    kind: 'cash',
    installments: 1,
    total_cents: cashCents,
    discount_cents: toNumber(balance - cash),
    installment_monthly_rate_pct: 0,
    effective_monthly_rate_pct: 0,
    effective_annual_rate_pct: 0,
    parcels: [{ number: 1, due_date: input.firstDueDate, amount_cents: cashCents }],
  });

  // PMT = S·i·(1+i)^(n−1) / ((1+i)^n − 1) with i = k/10000, a = 10000 + k, b = 10000:
  //     = S·k·a^(n−1) / (a^n − b^n), an exact rational; for k = 0, PMT = S/n.
  const k = cp.rate;
  const a = BASIS + k;
  let aPrev = a; // a^(n−1), starting at n = 2
  let aPow = a * a; // a^n
  let bPow = BASIS * BASIS; // b^n
  const dueDates: CalendarDate[] = [input.firstDueDate];
  for (let n = 2; n <= cp.maxInstallments; n++) {
    if (n > 2) {
      aPrev = aPow;
      aPow *= a;
      bPow *= BASIS;
    }
    const N = BigInt(n);
    let parcel: bigint;
    let total: bigint;
    if (k === 0n) {
      parcel = divRound(base, N);
      total = base;
    } else {
      const numerator = base * k * aPrev;
      const denominator = aPow - bPow;
      parcel = divRound(numerator, denominator);
      total = divRound(numerator * N, denominator);
    }
    if (parcel < cp.minInstallment || parcel < 1n) continue;
    const last = total - (N - 1n) * parcel;
    // The contract offers every plan whose parcel reaches the minimum; a last parcel of 0
    // or less (a tiny minimum, many parcels and rounding) would not be a parcel at all.
    if (last < 1n) continue;

    const amounts: number[] = new Array<number>(n);
    const parcelCents = toNumber(parcel);
    for (let j = 0; j < n - 1; j++) amounts[j] = parcelCents;
    amounts[n - 1] = toNumber(last);
    // No finite rate exists when parcel 1 alone already costs the cash price (a cash
    // discount far above the plan's): the plan is still offered, as the contract says,
    // with the rate reported at its cap (documented in docs/negotiation.md).
    const r = effectiveMonthlyRate(amounts, cashCents) ?? EFFECTIVE_RATE_CAP;

    while (dueDates.length < n) dueDates.push(addCalendarMonths(input.firstDueDate, dueDates.length));
    const parcels: Parcel[] = new Array<Parcel>(n);
    for (let j = 0; j < n; j++) parcels[j] = { number: j + 1, due_date: dueDates[j]!, amount_cents: amounts[j]! };
    offers.push({
      kind: 'installments',
      installments: n,
      total_cents: toNumber(total),
      discount_cents: toNumber(balance - total),
      installment_monthly_rate_pct: cp.ratePct,
      effective_monthly_rate_pct: round2(r * 100),
      effective_annual_rate_pct: round2((Math.pow(1 + r, 12) - 1) * 100),
      parcels,
    });
  }
  return { balance_cents: balanceCents, debts, offers };
}
