// Properties of the negotiation engine over random debts, policies and dates, and an
// independent exact reference implementation (rationals reduced by gcd, the postecipada-
// style form of §3's formula, day counts from Date.UTC) that must agree to the centavo.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EFFECTIVE_RATE_CAP, computeOffers, effectiveMonthlyRate, type DebtInput, type OffersResult } from '../../src/modules/negotiation/offers.js';
import type { Policy } from '../../src/modules/negotiation/policy.js';
import { policyInputSchema } from '../../src/modules/negotiation/policy.js';

// ---------------------------------------------------------------- reference implementation

type Q = { n: bigint; d: bigint }; // d > 0, reduced

const abs = (x: bigint) => (x < 0n ? -x : x);
function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}
function q(n: bigint, d: bigint = 1n): Q {
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}
const add = (a: Q, b: Q) => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Q, b: Q) => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Q, b: Q) => q(a.n * b.n, a.d * b.d);
const div = (a: Q, b: Q) => q(a.n * b.d, a.d * b.n);
function pow(a: Q, e: number): Q {
  let r = q(1n);
  for (let k = 0; k < e; k++) r = mul(r, a);
  return r;
}
/** half away from zero: floor(|x| + 1/2) with the sign of x */
function roundQ(x: Q): bigint {
  const negative = x.n < 0n;
  const m = abs(x.n);
  const floor = (2n * m + x.d) / (2n * x.d);
  return negative ? -floor : floor;
}
/** a percentage with ≤ 2 decimals as an exact rational fraction (not percent): "1.5" → 3/200 */
function pctQ(pct: number): Q {
  const [int, frac = ''] = String(pct).split('.');
  const digits = BigInt(`${int}${frac}`);
  return q(digits, 100n * 10n ** BigInt(frac.length));
}
function dayIndex(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y!, m! - 1, d!) / 86_400_000;
}
function monthsLater(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const first = new Date(Date.UTC(y!, m! - 1 + months, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d!, lastDay));
  return first.toISOString().slice(0, 10);
}

type RefPlan = { n: number; parcels: bigint[]; total: bigint; dates: string[] };

function reference(debts: DebtInput[], policy: Policy, asOf: string, firstDue: string) {
  let B = 0n;
  let cash = 0n;
  let S = 0n;
  for (const debt of debts) {
    let P = BigInt(debt.amount_cents) - BigInt(debt.credited_cents ?? 0);
    if (P < 0n) P = 0n;
    const d = Math.max(0, dayIndex(asOf) - dayIndex(debt.due_date));
    const F = d > 0 ? roundQ(mul(q(P), pctQ(policy.late_fine_pct))) : 0n;
    const J = roundQ(mul(mul(q(P), pctQ(policy.monthly_interest_pct)), q(BigInt(d), 30n)));
    const b = P + F + J;
    const eligible = policy.bands.filter((band) => band.min_days_overdue <= d);
    const band = eligible.length ? eligible.reduce((x, y) => (y.min_days_overdue > x.min_days_overdue ? y : x)) : null;
    B += b;
    cash += b - (band ? roundQ(mul(q(b), pctQ(band.cash_discount_pct))) : 0n);
    S += b - (band ? roundQ(mul(q(b), pctQ(band.installment_discount_pct))) : 0n);
  }
  const plans: RefPlan[] = [];
  const i = pctQ(policy.installment_monthly_rate_pct);
  for (let n = 2; n <= policy.max_installments && cash > 0n; n++) {
    // PMT = S·i / ((1 + i)·(1 − (1 + i)^−n)), the first form §3 gives
    const onePlusI = add(q(1n), i);
    const pmt = i.n === 0n ? q(S, BigInt(n)) : div(mul(q(S), i), mul(onePlusI, sub(q(1n), pow(div(q(1n), onePlusI), n))));
    const p = roundQ(pmt);
    const total = roundQ(mul(pmt, q(BigInt(n))));
    const last = total - BigInt(n - 1) * p;
    if (p < BigInt(policy.min_installment_cents)) continue;
    // the engine's own extra rule (documented): every parcel ≥ 1. A plan whose parcel 1
    // is not below the cash price is still offered (its effective rate is capped).
    if (p < 1n || last < 1n) continue;
    const parcels = [...Array<bigint>(n - 1).fill(p), last];
    plans.push({ n, parcels, total, dates: parcels.map((_, k) => monthsLater(firstDue, k)) });
  }
  return { B, cash, S, plans };
}

// ---------------------------------------------------------------- generators

const hundredths = (max: number) => fc.integer({ min: 0, max }).map((h) => h / 100);

const dateArb = (from: string, to: string) =>
  fc.integer({ min: dayIndex(from), max: dayIndex(to) }).map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));

const bandsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 2000 }), { maxLength: 9 })
  .chain((mins) =>
    fc.tuple(
      ...[0, ...mins.sort((a, b) => a - b)].map((min) =>
        fc
          .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 9999 }))
          .map(([x, y]) => ({ min_days_overdue: min, cash_discount_pct: Math.max(x, y) / 100, installment_discount_pct: Math.min(x, y) / 100 })),
      ),
    ),
  );

/** A policy within §4.4's bounds for a financial institution (rates up to 20 %). */
const policyArb: fc.Arbitrary<Policy> = fc.record({
  late_fine_pct: hundredths(200),
  monthly_interest_pct: hundredths(2000),
  bands: bandsArb,
  max_installments: fc.integer({ min: 1, max: 72 }),
  min_installment_cents: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000_000 })),
  installment_monthly_rate_pct: fc.oneof(fc.constant(0), hundredths(300), hundredths(2000)),
  first_due_max_days: fc.integer({ min: 0, max: 30 }),
  offer_validity_hours: fc.integer({ min: 48, max: 720 }),
  break_after_days: fc.integer({ min: 1, max: 180 }),
});

const debtArb: fc.Arbitrary<DebtInput> = fc
  .record({
    amount_cents: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000_000 }), fc.integer({ min: 1, max: 1_000_000_000_000 })),
    credited: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    due_date: dateArb('2020-01-01', '2030-12-31'),
  })
  .map(({ amount_cents, credited, due_date }) => {
    const credited_cents = Math.floor(amount_cents * credited);
    return credited_cents > 0 ? { amount_cents, credited_cents, due_date } : { amount_cents, due_date };
  });

const scenarioArb = fc
  .record({
    debts: fc.array(debtArb, { minLength: 1, maxLength: 5 }),
    policy: policyArb,
    asOf: dateArb('2024-01-01', '2030-12-31'),
    offset: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ debts, policy, asOf, offset }) => ({
    debts,
    policy,
    asOf,
    firstDueDate: new Date((dayIndex(asOf) + offset) * 86_400_000).toISOString().slice(0, 10),
  }));

const RUNS = { numRuns: 150 };

/** The figures reported when no effective rate exists: the cap, in percent, two decimals. */
const CAPPED_MONTHLY_PCT = Math.round(EFFECTIVE_RATE_CAP * 100 * 100) / 100;
const CAPPED_ANNUAL_PCT = Math.round((Math.pow(1 + EFFECTIVE_RATE_CAP, 12) - 1) * 100 * 100) / 100;

function plans(result: OffersResult) {
  return result.offers.filter((o) => o.kind === 'installments');
}

// ---------------------------------------------------------------- properties

describe('negotiation engine properties', () => {
  it('the generated policies are valid §4.4 policies', () => {
    const schema = policyInputSchema({ financialInstitution: true });
    fc.assert(
      fc.property(policyArb, (policy) => {
        expect(schema.safeParse(policy).success).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('agrees to the centavo with an independent exact reference', () => {
    fc.assert(
      fc.property(scenarioArb, ({ debts, policy, asOf, firstDueDate }) => {
        const result = computeOffers({ debts, policy, asOf, firstDueDate });
        const ref = reference(debts, policy, asOf, firstDueDate);
        expect(BigInt(result.balance_cents)).toBe(ref.B);
        if (ref.cash <= 0n) {
          expect(result.offers).toEqual([]);
          return;
        }
        const cash = result.offers[0]!;
        expect(cash.kind).toBe('cash');
        expect(BigInt(cash.total_cents)).toBe(ref.cash);
        expect(BigInt(cash.discount_cents)).toBe(ref.B - ref.cash);
        expect(cash.parcels).toEqual([{ number: 1, due_date: firstDueDate, amount_cents: cash.total_cents }]);
        const got = plans(result);
        expect(got.map((o) => o.installments)).toEqual(ref.plans.map((p) => p.n));
        got.forEach((offer, index) => {
          const r = ref.plans[index]!;
          expect(offer.parcels.map((p) => BigInt(p.amount_cents))).toEqual(r.parcels);
          expect(offer.parcels.map((p) => p.due_date)).toEqual(r.dates);
          expect(offer.parcels.map((p) => p.number)).toEqual(r.parcels.map((_, k) => k + 1));
          expect(BigInt(offer.total_cents)).toBe(r.total);
          expect(BigInt(offer.discount_cents)).toBe(ref.B - r.total);
          expect(offer.installment_monthly_rate_pct).toBe(policy.installment_monthly_rate_pct);
        });
      }),
      RUNS,
    );
  });

  it('parcels sum to the total, parcels 1…n−1 respect the minimum, dates strictly increase', () => {
    fc.assert(
      fc.property(scenarioArb, (input) => {
        const result = computeOffers(input);
        const problems: string[] = [];
        for (const offer of result.offers) {
          const n = offer.installments;
          if (offer.parcels.length !== n) problems.push(`${n}: ${offer.parcels.length} parcels`);
          if (offer.parcels.reduce((s, p) => s + p.amount_cents, 0) !== offer.total_cents) problems.push(`${n}: sum ≠ total`);
          if (offer.parcels[0]!.due_date !== input.firstDueDate) problems.push(`${n}: parcel 1 not on the first due date`);
          offer.parcels.forEach((p, k) => {
            if (p.number !== k + 1) problems.push(`${n}: parcel ${k + 1} numbered ${p.number}`);
            if (k > 0 && !(p.due_date > offer.parcels[k - 1]!.due_date)) problems.push(`${n}: dates not increasing at ${k + 1}`);
            if (!(p.amount_cents > 0)) problems.push(`${n}: parcel ${k + 1} is ${p.amount_cents}`);
            if (offer.kind === 'installments' && k < n - 1 && p.amount_cents < input.policy.min_installment_cents) {
              problems.push(`${n}: parcel ${k + 1} under the minimum`);
            }
          });
        }
        expect(problems).toEqual([]);
      }),
      RUNS,
    );
  });

  it('cash ≤ balance, no plan cheaper than cash, more parcels never cost less', () => {
    fc.assert(
      fc.property(scenarioArb, (input) => {
        const result = computeOffers(input);
        if (result.offers.length === 0) return;
        const cash = result.offers[0]!;
        expect(cash.total_cents).toBeLessThanOrEqual(result.balance_cents);
        expect(cash.discount_cents).toBeGreaterThanOrEqual(0);
        let previous = -1;
        for (const offer of plans(result)) {
          // installment_discount ≤ cash_discount in every band and rate ≥ 0
          expect(offer.total_cents).toBeGreaterThanOrEqual(cash.total_cents);
          expect(offer.total_cents).toBeGreaterThanOrEqual(previous);
          previous = offer.total_cents;
          if (input.policy.installment_monthly_rate_pct > 0) {
            // with a positive rate each plan costs at least S; sum of S ≥ sum of cash
            expect(offer.effective_monthly_rate_pct).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      RUNS,
    );
  });

  it('more parcels never lower the total for a fixed S and rate ≥ 0 (every n, offered or not)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000_000 }), hundredths(2000), (amount, rate) => {
        const policy: Policy = {
          late_fine_pct: 0,
          monthly_interest_pct: 0,
          bands: [{ min_days_overdue: 0, cash_discount_pct: 0, installment_discount_pct: 0 }],
          max_installments: 72,
          min_installment_cents: 0,
          installment_monthly_rate_pct: rate,
          first_due_max_days: 10,
          offer_validity_hours: 48,
          break_after_days: 30,
        };
        const result = computeOffers({ debts: [{ amount_cents: amount, due_date: '2026-01-01' }], policy, asOf: '2026-01-01', firstDueDate: '2026-01-01' });
        const totals = plans(result).map((o) => o.total_cents);
        for (let k = 1; k < totals.length; k++) expect(totals[k]!).toBeGreaterThanOrEqual(totals[k - 1]!);
        for (const t of totals) expect(t).toBeGreaterThanOrEqual(amount);
      }),
      { numRuns: 60 },
    );
  });

  it('same inputs give the same output', () => {
    fc.assert(
      fc.property(scenarioArb, (input) => {
        const copy = structuredClone(input);
        const a = computeOffers(input);
        const b = computeOffers(copy);
        expect(b).toEqual(a);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        expect(copy).toEqual(input); // inputs untouched
      }),
      { numRuns: 60 },
    );
  });

  it('the parcels discounted at the effective rate are worth the cash price', () => {
    fc.assert(
      fc.property(scenarioArb, (input) => {
        const result = computeOffers(input);
        if (result.offers.length === 0) return;
        const cash = result.offers[0]!.total_cents;
        for (const offer of plans(result)) {
          const amounts = offer.parcels.map((p) => p.amount_cents);
          const r = effectiveMonthlyRate(amounts, cash);
          // a rate exists exactly when parcel 1 is below the cash price (every parcel is ≥ 1)
          expect(r === null).toBe(amounts[0]! >= cash);
          if (r === null) {
            expect(offer.effective_monthly_rate_pct).toBe(CAPPED_MONTHLY_PCT);
            expect(offer.effective_annual_rate_pct).toBe(CAPPED_ANNUAL_PCT);
            continue;
          }
          let pv = 0;
          for (let k = 0; k < amounts.length; k++) pv += amounts[k]! / Math.pow(1 + r, k);
          expect(Math.abs(pv - cash)).toBeLessThanOrEqual(Math.max(1e-6, cash * 1e-9));
          // the reported figures are r and ((1 + r)^12 − 1), in percent, to two decimals
          expect(Math.abs(offer.effective_monthly_rate_pct - r * 100)).toBeLessThanOrEqual(0.005 + 1e-9 * Math.abs(r * 100));
          const annual = (Math.pow(1 + r, 12) - 1) * 100;
          expect(Math.abs(offer.effective_annual_rate_pct - annual)).toBeLessThanOrEqual(0.005 + 1e-12 * Math.abs(annual));
          expect(Number.isFinite(offer.effective_annual_rate_pct)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});
