// Worked examples of contract §3, each computed by hand in the comments (rounding half
// away from zero, on exact values).
import { describe, it, expect } from 'vitest';
import { EFFECTIVE_RATE_CAP, balanceCalculator, computeOffers, effectiveMonthlyRate, updatedBalance, type Offer } from '../../src/modules/negotiation/offers.js';
import { DEFAULT_POLICY, defaultPolicy, type Policy } from '../../src/modules/negotiation/policy.js';

/** A policy with no fine, no interest, no discount: S = B = the amount. */
function flat(rate: number, overrides: Partial<Policy> = {}): Policy {
  return {
    ...defaultPolicy(),
    late_fine_pct: 0,
    monthly_interest_pct: 0,
    bands: [{ min_days_overdue: 0, cash_discount_pct: 0, installment_discount_pct: 0 }],
    installment_monthly_rate_pct: rate,
    max_installments: 72,
    min_installment_cents: 0,
    ...overrides,
  };
}

function plan(offers: Offer[], n: number): Offer {
  const found = offers.find((o) => o.installments === n && o.kind === 'installments');
  if (!found) throw new Error(`no plan of ${n}`);
  return found;
}

describe('updated balance (§3)', () => {
  it('a debt not yet due has no fine and no interest', () => {
    // d = max(0, 2026-03-01 − 2026-03-10) = 0 → F = 0, J = 0, B = P = 100000
    // band 0 (min 0 ≤ 0): cash = 100000 − round(100000 × 10 %) = 90000; S = 100000 − 0
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2026-03-10' }, DEFAULT_POLICY, '2026-03-01')).toEqual({
      principal_cents: 100_000,
      days_overdue: 0,
      fine_cents: 0,
      interest_cents: 0,
      balance_cents: 100_000,
      band_index: 0,
      cash_cents: 90_000,
      installment_base_cents: 100_000,
    });
    // on the due date itself d = 0 too: no fine
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2026-03-10' }, DEFAULT_POLICY, '2026-03-10').fine_cents).toBe(0);
    // one day late: F = round(100000 × 2 %) = 2000, J = round(100000 × 1 % × 1/30) = round(33.33) = 33
    const late = updatedBalance({ amount_cents: 100_000, due_date: '2026-03-10' }, DEFAULT_POLICY, '2026-03-11');
    expect([late.days_overdue, late.fine_cents, late.interest_cents, late.balance_cents]).toEqual([1, 2000, 33, 102_033]);
  });

  it('90 days overdue is band 0, 91 days is band 1', () => {
    // 2026-01-01 → 2026-04-01: 31 + 28 + 31 = 90 days
    // F = 2000; J = round(100000 × 1 % × 90/30) = 3000; B = 105000
    // band 0: cash = 105000 − round(10500) = 94500; S = 105000
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-04-01')).toEqual({
      principal_cents: 100_000,
      days_overdue: 90,
      fine_cents: 2000,
      interest_cents: 3000,
      balance_cents: 105_000,
      band_index: 0,
      cash_cents: 94_500,
      installment_base_cents: 105_000,
    });
    // 91 days: J = round(100000 × 0.01 × 91/30) = round(3033.33) = 3033; B = 105033
    // band 1 (40 %/20 %): cash = 105033 − round(42013.2) = 63020; S = 105033 − round(21006.6) = 84026
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-04-02')).toEqual({
      principal_cents: 100_000,
      days_overdue: 91,
      fine_cents: 2000,
      interest_cents: 3033,
      balance_cents: 105_033,
      band_index: 1,
      cash_cents: 63_020,
      installment_base_cents: 84_026,
    });
    // 360 days → band 1, 361 → band 2
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2025-01-01' }, DEFAULT_POLICY, '2025-12-27').days_overdue).toBe(360);
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2025-01-01' }, DEFAULT_POLICY, '2025-12-27').band_index).toBe(1);
    expect(updatedBalance({ amount_cents: 100_000, due_date: '2025-01-01' }, DEFAULT_POLICY, '2025-12-28').band_index).toBe(2);
  });

  it('rounds half away from zero', () => {
    // P = 25, 2 %: F = round(0.5) = 1; J (15 days) = round(25 × 0.01 × 15/30) = round(0.125) = 0; B = 26
    // band 0: cash = 26 − round(2.6) = 23
    const b = updatedBalance({ amount_cents: 25, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-16');
    expect([b.fine_cents, b.interest_cents, b.balance_cents, b.cash_cents]).toEqual([1, 0, 26, 23]);
    // P = 150, 30 days: J = round(150 × 0.01) = round(1.5) = 2; F = 3; B = 155; cash = 155 − round(15.5) = 139
    const c = updatedBalance({ amount_cents: 150, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-31');
    expect([c.fine_cents, c.interest_cents, c.balance_cents, c.cash_cents]).toEqual([3, 2, 155, 139]);
  });

  it('counts days across 29 February in a leap year', () => {
    // 2028-02-27 → 2028-03-01 = 3 days (28, 29 Feb, 1 Mar); in 2027 only 2
    // P = 300000: F = 6000, J = round(300000 × 0.01 × 3/30) = 300, B = 306300
    const leap = updatedBalance({ amount_cents: 300_000, due_date: '2028-02-27' }, DEFAULT_POLICY, '2028-03-01');
    expect([leap.days_overdue, leap.fine_cents, leap.interest_cents, leap.balance_cents]).toEqual([3, 6000, 300, 306_300]);
    const common = updatedBalance({ amount_cents: 300_000, due_date: '2027-02-27' }, DEFAULT_POLICY, '2027-03-01');
    expect([common.days_overdue, common.interest_cents]).toEqual([2, 200]);
    // 2027-12-31 → 2028-12-31 = 366 days: J = round(300000 × 0.01 × 366/30) = 36600
    const year = updatedBalance({ amount_cents: 300_000, due_date: '2027-12-31' }, DEFAULT_POLICY, '2028-12-31');
    expect([year.days_overdue, year.interest_cents, year.band_index]).toEqual([366, 36_600, 2]);
  });

  it('charges fine and interest on the principal left after credits', () => {
    // P = 200000 − 50000 = 150000; d = 30; F = 3000; J = round(150000 × 0.01 × 30/30) = 1500
    // B = 154500; cash = 154500 − 15450 = 139050; S = 154500
    expect(
      updatedBalance({ amount_cents: 200_000, credited_cents: 50_000, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-31'),
    ).toEqual({
      principal_cents: 150_000,
      days_overdue: 30,
      fine_cents: 3000,
      interest_cents: 1500,
      balance_cents: 154_500,
      band_index: 0,
      cash_cents: 139_050,
      installment_base_cents: 154_500,
    });
    // credited beyond the amount: principal 0, never negative
    expect(
      updatedBalance({ amount_cents: 1000, credited_cents: 1500, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-31')
        .balance_cents,
    ).toBe(0);
  });

  it('no band under the first min_days_overdue means 0 % discounts', () => {
    const policy: Policy = { ...defaultPolicy(), bands: [{ min_days_overdue: 30, cash_discount_pct: 50, installment_discount_pct: 10 }] };
    const b = updatedBalance({ amount_cents: 100_000, due_date: '2026-01-01' }, policy, '2026-01-11');
    // d = 10: F = 2000, J = round(100000 × 0.01 × 10/30) = 333, B = 102333, no discount
    expect([b.band_index, b.balance_cents, b.cash_cents, b.installment_base_cents]).toEqual([null, 102_333, 102_333, 102_333]);
  });

  it('refuses malformed inputs', () => {
    expect(() => updatedBalance({ amount_cents: -1, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-31')).toThrow(RangeError);
    expect(() => updatedBalance({ amount_cents: 1.5, due_date: '2026-01-01' }, DEFAULT_POLICY, '2026-01-31')).toThrow(RangeError);
    expect(() => updatedBalance({ amount_cents: 100, due_date: '2026-02-30' }, DEFAULT_POLICY, '2026-03-31')).toThrow(RangeError);
    expect(() => updatedBalance({ amount_cents: 100, due_date: '2026-01-01' }, { ...DEFAULT_POLICY, late_fine_pct: 1.005 }, '2026-01-31')).toThrow(
      RangeError,
    );
  });

  it('a calculator for one policy and date gives each debt what updatedBalance gives it', () => {
    const debts = [
      { amount_cents: 100_000, due_date: '2026-03-10' },
      { amount_cents: 100_000, due_date: '2026-01-01' },
      { amount_cents: 200_000, credited_cents: 50_000, due_date: '2025-01-01' },
      { amount_cents: 1000, credited_cents: 1500, due_date: '2026-01-01' },
    ];
    const balanceOf = balanceCalculator(DEFAULT_POLICY, '2026-04-02');
    for (const debt of debts) expect(balanceOf(debt)).toEqual(updatedBalance(debt, DEFAULT_POLICY, '2026-04-02'));
    expect(() => balanceOf({ amount_cents: -1, due_date: '2026-01-01' })).toThrow(RangeError);
    expect(() => balanceCalculator({ ...DEFAULT_POLICY, late_fine_pct: 1.005 }, '2026-01-31')).toThrow(RangeError);
  });
});

describe('offers (§3)', () => {
  it('a debt not yet due under the default policy: cash then 11 plans at 1 % a.m.', () => {
    // B = S = 100000, cash = 90000. PMT(n) = S·i·1.01^(n−1)/(1.01^n − 1):
    // n = 2: 100000 × 0.01 × 1.01 / 0.0201 = 50248.756… → 50249; total round(100497.51) = 100498; last 50249
    // n = 3: 33665.556 → 33666; total round(100996.67) = 100997; last 100997 − 2×33666 = 33665
    // n = 12: 8796.9098 → 8797; total round(105562.92) = 105563; last 105563 − 11×8797 = 8796
    const { balance_cents, offers, debts } = computeOffers({
      debts: [{ amount_cents: 100_000, due_date: '2026-03-10' }],
      policy: DEFAULT_POLICY,
      asOf: '2026-03-01',
      firstDueDate: '2026-03-05',
    });
    expect(balance_cents).toBe(100_000);
    expect(debts).toHaveLength(1);
    expect(offers.map((o) => o.installments)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(offers[0]).toEqual({
      kind: 'cash',
      installments: 1,
      total_cents: 90_000,
      discount_cents: 10_000,
      installment_monthly_rate_pct: 0,
      effective_monthly_rate_pct: 0,
      effective_annual_rate_pct: 0,
      parcels: [{ number: 1, due_date: '2026-03-05', amount_cents: 90_000 }],
    });
    const two = plan(offers, 2);
    expect(two.parcels).toEqual([
      { number: 1, due_date: '2026-03-05', amount_cents: 50_249 },
      { number: 2, due_date: '2026-04-05', amount_cents: 50_249 },
    ]);
    expect([two.total_cents, two.discount_cents, two.installment_monthly_rate_pct]).toEqual([100_498, -498, 1]);
    // effective rate: 50249 + 50249/(1+r) = 90000 → 1 + r = 50249/39751 → r = 26.41 %;
    // annual (50249/39751)^12 − 1 = 1565.8…% (checked below against the formula)
    expect(two.effective_monthly_rate_pct).toBe(26.41);
    const r = 50_249 / 39_751 - 1;
    expect(two.effective_annual_rate_pct).toBeCloseTo((Math.pow(1 + r, 12) - 1) * 100, 2);
    const three = plan(offers, 3);
    expect(three.parcels.map((p) => p.amount_cents)).toEqual([33_666, 33_666, 33_665]);
    expect(three.total_cents).toBe(100_997);
    const twelve = plan(offers, 12);
    expect(twelve.parcels.map((p) => p.amount_cents)).toEqual([...Array<number>(11).fill(8797), 8796]);
    expect(twelve.total_cents).toBe(105_563);
    expect(twelve.discount_cents).toBe(-5563);
    expect(twelve.parcels[11]!.due_date).toBe('2027-02-05');
  });

  it('drops plans whose parcel is under min_installment_cents', () => {
    // B = S = 30000, cash = 27000, minimum 5000:
    // n = 6: 30000 × 0.01 × 1.01^5/(1.01^6 − 1) = 5125.20 → 5125 ≥ 5000, offered
    // n = 7: 30000 × 0.01 × 1.01^6/(1.01^7 − 1) = 4414.70 → 4415 < 5000, dropped (and all longer ones)
    const { offers } = computeOffers({
      debts: [{ amount_cents: 30_000, due_date: '2026-05-01' }],
      policy: DEFAULT_POLICY,
      asOf: '2026-05-01',
      firstDueDate: '2026-05-01',
    });
    expect(offers.map((o) => o.installments)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(plan(offers, 6).parcels[0]!.amount_cents).toBe(5125);
    expect(plan(offers, 6).total_cents).toBe(30_751);
    // exactly at the minimum is offered: minimum 5125 keeps n = 6, 5126 drops it
    const at = computeOffers({
      debts: [{ amount_cents: 30_000, due_date: '2026-05-01' }],
      policy: { ...defaultPolicy(), min_installment_cents: 5125 },
      asOf: '2026-05-01',
      firstDueDate: '2026-05-01',
    });
    expect(at.offers.at(-1)!.installments).toBe(6);
    const above = computeOffers({
      debts: [{ amount_cents: 30_000, due_date: '2026-05-01' }],
      policy: { ...defaultPolicy(), min_installment_cents: 5126 },
      asOf: '2026-05-01',
      firstDueDate: '2026-05-01',
    });
    expect(above.offers.at(-1)!.installments).toBe(5);
  });

  it('max_installments = 1 offers cash only', () => {
    const { offers } = computeOffers({
      debts: [{ amount_cents: 1_000_000, due_date: '2026-01-01' }],
      policy: { ...defaultPolicy(), max_installments: 1 },
      asOf: '2026-01-31',
      firstDueDate: '2026-02-02',
    });
    // P = 1000000, d = 30: F = 20000, J = 10000, B = 1030000, cash = 1030000 − 103000 = 927000
    expect(offers).toHaveLength(1);
    expect(offers[0]!.kind).toBe('cash');
    expect(offers[0]!.total_cents).toBe(927_000);
    expect(offers[0]!.discount_cents).toBe(103_000);
  });

  it('a zero rate splits S evenly, the remainder in the last parcel', () => {
    // S = 100000, i = 0: PMT = S/n.
    // n = 3: 33333.33 → 33333; total = round(100000) = 100000; last = 100000 − 2×33333 = 33334
    // n = 7: 14285.71 → 14286; last = 100000 − 6×14286 = 14284
    const { offers } = computeOffers({
      debts: [{ amount_cents: 100_000, due_date: '2026-01-01' }],
      policy: flat(0, { max_installments: 12 }),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(plan(offers, 3).parcels.map((p) => p.amount_cents)).toEqual([33_333, 33_333, 33_334]);
    expect(plan(offers, 7).parcels.map((p) => p.amount_cents)).toEqual([...Array<number>(6).fill(14_286), 14_284]);
    for (const offer of offers) {
      expect(offer.total_cents).toBe(100_000);
      expect(offer.discount_cents).toBe(0);
      expect(offer.installment_monthly_rate_pct).toBe(0);
      // no discount and no rate: splitting costs nothing (up to the rounding of parcels)
      expect(Math.abs(offer.effective_monthly_rate_pct)).toBeLessThanOrEqual(0.01);
      expect(Math.abs(offer.effective_annual_rate_pct)).toBeLessThanOrEqual(0.05);
    }
  });

  it('Price table antecipada references', () => {
    // R$ 5.000,00 at 2 % a.m., 10 parcels: 500000 × 0.02 × 1.02^9/(1.02^10 − 1) = 54571.8… → R$ 545,72
    // (postecipada 500000 × 0.02/(1 − 1.02^−10) = R$ 556,63 — not our form)
    const a = computeOffers({
      debts: [{ amount_cents: 500_000, due_date: '2026-01-01' }],
      policy: flat(2),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-31',
    });
    const ten = plan(a.offers, 10);
    expect(ten.parcels[0]!.amount_cents).toBe(54_572);
    expect(ten.total_cents).toBe(545_718); // round(54571.8 × 10); last = 545718 − 9 × 54572 = 54570
    expect(ten.parcels[9]!.amount_cents).toBe(54_570);
    // here cash = S, so the effective rate is the nominal one
    expect(ten.effective_monthly_rate_pct).toBeCloseTo(2, 2);
    expect(ten.effective_annual_rate_pct).toBeCloseTo(26.82, 1); // 1.02^12 − 1 = 26.824 %
    // R$ 30.000,00 at 1,5 % a.m., 12 parcels → R$ 2.709,75 (postecipada R$ 2.750,40)
    const b = computeOffers({
      debts: [{ amount_cents: 3_000_000, due_date: '2026-01-01' }],
      policy: flat(1.5),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-31',
    });
    expect(plan(b.offers, 12).parcels[0]!.amount_cents).toBe(270_975);
    expect(plan(b.offers, 12).effective_monthly_rate_pct).toBeCloseTo(1.5, 2);
  });

  it('parcel due dates keep the day of month of parcel 1, clamped to month ends', () => {
    const { offers } = computeOffers({
      debts: [{ amount_cents: 10_000_000, due_date: '2027-12-01' }],
      policy: DEFAULT_POLICY,
      asOf: '2028-01-20',
      firstDueDate: '2028-01-31',
    });
    expect(plan(offers, 12).parcels.map((p) => p.due_date)).toEqual([
      '2028-01-31',
      '2028-02-29',
      '2028-03-31', // not 29 Mar: each date counts from parcel 1, not from the one before
      '2028-04-30',
      '2028-05-31',
      '2028-06-30',
      '2028-07-31',
      '2028-08-31',
      '2028-09-30',
      '2028-10-31',
      '2028-11-30',
      '2028-12-31',
    ]);
    const common = computeOffers({
      debts: [{ amount_cents: 10_000_000, due_date: '2026-12-01' }],
      policy: DEFAULT_POLICY,
      asOf: '2027-01-20',
      firstDueDate: '2027-01-31',
    });
    expect(plan(common.offers, 3).parcels.map((p) => p.due_date)).toEqual(['2027-01-31', '2027-02-28', '2027-03-31']);
    const fromLeapDay = computeOffers({
      debts: [{ amount_cents: 10_000_000, due_date: '2028-01-01' }],
      policy: DEFAULT_POLICY,
      asOf: '2028-02-20',
      firstDueDate: '2028-02-29',
    });
    expect(plan(fromLeapDay.offers, 12).parcels.map((p) => p.due_date).slice(0, 2)).toEqual(['2028-02-29', '2028-03-29']);
    expect(plan(fromLeapDay.offers, 12).parcels[11]!.due_date).toBe('2029-01-29');
  });

  it('several debts, each in its own band, are summed', () => {
    // as of 2026-06-30, default policy:
    // A: 100000 due 2026-06-20, d = 10: F 2000, J round(333.33) = 333, B 102333, band 0:
    //    cash 102333 − round(10233.3) = 92100, S 102333
    // B: 50000 due 2026-03-01, d = 121: F 1000, J round(2016.67) = 2017, B 53017, band 1:
    //    cash 53017 − round(21206.8) = 31810, S 53017 − round(10603.4) = 42414
    // C: 20000 due 2025-01-15, d = 531: F 400, J round(3540) = 3540, B 23940, band 2:
    //    cash 23940 − round(16758) = 7182, S 23940 − 11970 = 11970
    // ΣB = 179290, Σcash = 131092, ΣS = 156717
    // n = 2: 156717 × 0.01 × 1.01/0.0201 = 78748.4… → 78748; total 157497; last 78749
    // n = 12: 13786.3… → 13786; total 165435; last 165435 − 11×13786 = 13789
    const result = computeOffers({
      debts: [
        { amount_cents: 100_000, due_date: '2026-06-20' },
        { amount_cents: 50_000, due_date: '2026-03-01' },
        { amount_cents: 20_000, due_date: '2025-01-15' },
      ],
      policy: DEFAULT_POLICY,
      asOf: '2026-06-30',
      firstDueDate: '2026-07-05',
    });
    expect(result.debts.map((d) => [d.days_overdue, d.balance_cents, d.band_index, d.cash_cents, d.installment_base_cents])).toEqual([
      [10, 102_333, 0, 92_100, 102_333],
      [121, 53_017, 1, 31_810, 42_414],
      [531, 23_940, 2, 7182, 11_970],
    ]);
    expect(result.balance_cents).toBe(179_290);
    expect(result.offers[0]!.total_cents).toBe(131_092);
    expect(result.offers[0]!.discount_cents).toBe(179_290 - 131_092);
    expect(plan(result.offers, 2).parcels.map((p) => p.amount_cents)).toEqual([78_748, 78_749]);
    expect(plan(result.offers, 2).discount_cents).toBe(179_290 - 157_497);
    expect(plan(result.offers, 12).total_cents).toBe(165_435);
    expect(plan(result.offers, 12).parcels[11]!.amount_cents).toBe(13_789);
  });

  it('a fully credited debt, or no debt, gives no offers', () => {
    const credited = computeOffers({
      debts: [{ amount_cents: 50_000, credited_cents: 50_000, due_date: '2025-01-01' }],
      policy: DEFAULT_POLICY,
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(credited.balance_cents).toBe(0);
    expect(credited.offers).toEqual([]);
    expect(computeOffers({ debts: [], policy: DEFAULT_POLICY, asOf: '2026-01-01', firstDueDate: '2026-01-01' }).offers).toEqual([]);
    // B = 5000 at a 99.99 % cash discount: cash = 5000 − round(4999.5) = 0 → no offers either
    const tiny = computeOffers({
      debts: [{ amount_cents: 5000, due_date: '2026-01-01' }],
      policy: flat(1, { bands: [{ min_days_overdue: 0, cash_discount_pct: 99.99, installment_discount_pct: 0 }] }),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(tiny.balance_cents).toBe(5000);
    expect(tiny.offers).toEqual([]);
  });

  it('offers a plan whose first parcel alone is not below the cash price, its rates at the cap', () => {
    // §3 offers every plan with round(PMT) ≥ min_installment_cents and cash_cents > 0; when
    // parcel 1 alone already costs the cash price no rate r makes the parcels worth it, and
    // the effective rates are reported at EFFECTIVE_RATE_CAP.
    // B = S = 1000000, cash = 1000000 − round(999900) = 100 (99.99 % cash discount), 1 % a.m.:
    // n = 2: PMT = 1000000 × 0.01 × 1.01/0.0201 = 502487.56 → 502488; total round(1004975.12)
    //        = 1004975; last 1004975 − 502488 = 502487; discount 1000000 − 1004975 = −4975
    const { offers } = computeOffers({
      debts: [{ amount_cents: 1_000_000, due_date: '2026-01-01' }],
      policy: flat(1, { bands: [{ min_days_overdue: 0, cash_discount_pct: 99.99, installment_discount_pct: 0 }] }),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(offers.map((o) => o.installments)).toEqual(Array.from({ length: 72 }, (_, k) => k + 1));
    expect(offers[0]!.total_cents).toBe(100);
    const two = plan(offers, 2);
    expect(two.parcels.map((p) => p.amount_cents)).toEqual([502_488, 502_487]);
    expect([two.total_cents, two.discount_cents]).toEqual([1_004_975, -4975]);
    const cappedMonthly = 999_999.99; // EFFECTIVE_RATE_CAP × 100, two decimals
    const cappedAnnual = Math.round((Math.pow(1 + EFFECTIVE_RATE_CAP, 12) - 1) * 100 * 100) / 100; // ≈ 1.0012e50
    expect(Math.round(EFFECTIVE_RATE_CAP * 100 * 100) / 100).toBe(cappedMonthly);
    for (const offer of offers.slice(1)) {
      expect(effectiveMonthlyRate(offer.parcels.map((p) => p.amount_cents), 100)).toBeNull();
      expect(offer.effective_monthly_rate_pct).toBe(cappedMonthly);
      expect(offer.effective_annual_rate_pct).toBe(cappedAnnual);
      expect(Number.isFinite(offer.effective_annual_rate_pct)).toBe(true);
    }
  });

  it('reports the cap exactly when parcel 1 equals the cash price, a real rate just below', () => {
    // B = S = 100000, cash 50 %: cash = 50000; installments 0 %, rate 0, minimum 0:
    // n = 2: 50000, 50000 → parcel 1 = cash: no rate, capped (still offered)
    // n = 3: 33333, 33333, 33334 → 33333 + 33333v + 33334v² = 50000 with v = 1/(1 + r):
    //        v = (−33333 + √(33333² + 4 × 33334 × 16667)) / (2 × 33334) = 0.366569… → r = 173.20 %
    // n = 4: 25000 × (1 + v + v² + v³) = 50000 → r = 83.93 %
    const { offers } = computeOffers({
      debts: [{ amount_cents: 100_000, due_date: '2026-01-01' }],
      policy: flat(0, { bands: [{ min_days_overdue: 0, cash_discount_pct: 50, installment_discount_pct: 0 }], max_installments: 4 }),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(offers.map((o) => [o.installments, o.total_cents])).toEqual([
      [1, 50_000],
      [2, 100_000],
      [3, 100_000],
      [4, 100_000],
    ]);
    expect(plan(offers, 2).effective_monthly_rate_pct).toBe(999_999.99);
    const v = (-33_333 + Math.sqrt(33_333 ** 2 + 4 * 33_334 * 16_667)) / (2 * 33_334);
    expect(plan(offers, 3).effective_monthly_rate_pct).toBe(173.2);
    expect(plan(offers, 3).effective_monthly_rate_pct).toBeCloseTo((1 / v - 1) * 100, 2);
    expect(plan(offers, 3).effective_annual_rate_pct).toBeCloseTo((Math.pow(1 / v, 12) - 1) * 100, 1);
    expect(plan(offers, 4).effective_monthly_rate_pct).toBe(83.93);
  });

  it('drops a plan with a parcel of zero or less', () => {
    // S = 100, i = 0, minimum 0: n = 72 → PMT = 1.39 → 1; last = 100 − 71 = 29: offered
    // S = 100, n = 3 at 0: 33, 33, 34; and S = 10 at 0 over n = 21: PMT 0.476 → 0: dropped
    const hundred = computeOffers({
      debts: [{ amount_cents: 100, due_date: '2026-01-01' }],
      policy: flat(0),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    expect(plan(hundred.offers, 72).parcels.at(-1)!.amount_cents).toBe(29);
    const ten = computeOffers({
      debts: [{ amount_cents: 10, due_date: '2026-01-01' }],
      policy: flat(0),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    // n ≤ 20: round(10/n) ≥ 1 (10/20 = 0.5 → 1), but the last parcel 10 − (n−1)×round(10/n) must stay ≥ 1:
    // n = 6: round(1.67) = 2, last 10 − 5×2 = 0 → dropped; n = 11: 1, last 0 → dropped; n = 12..20: last < 0;
    // n ≥ 21: round(10/n) = 0. Offered: 2 (5, 5), 3 (3, 3, 4), 4 (3, 3, 3, 1), 5 and 7..10
    const offered = ten.offers.filter((o) => o.kind === 'installments').map((o) => o.installments);
    expect(offered).toEqual([2, 3, 4, 5, 7, 8, 9, 10]);
    for (const o of ten.offers) for (const p of o.parcels) expect(p.amount_cents).toBeGreaterThan(0);
  });

  it('handles R$ 10 bilhões over 72 parcels without losing a centavo', () => {
    // S = 1e12 centavos at 20 % a.m. over 72: exact rational arithmetic, parcels sum to the total
    const { offers } = computeOffers({
      debts: [{ amount_cents: 1_000_000_000_000, due_date: '2026-01-01' }],
      policy: flat(20),
      asOf: '2026-01-01',
      firstDueDate: '2026-01-01',
    });
    const last = plan(offers, 72);
    expect(last.parcels.reduce((s, p) => s + p.amount_cents, 0)).toBe(last.total_cents);
    // PMT = 1e12 × 0.2 × 1.2^71/(1.2^72 − 1) = 1e12 × 0.2/(1.2 × (1 − 1.2^−72)) ≈ 166666706917.5…
    const exact = (10n ** 12n * 2000n * 12000n ** 71n * 2n + (12000n ** 72n - 10000n ** 72n)) / ((12000n ** 72n - 10000n ** 72n) * 2n);
    expect(BigInt(last.parcels[0]!.amount_cents)).toBe(exact);
    // more than Number.MAX_SAFE_INTEGER in a sum: RangeError, never a silent loss
    expect(() =>
      computeOffers({
        debts: [
          { amount_cents: Number.MAX_SAFE_INTEGER, due_date: '2026-01-01' },
          { amount_cents: Number.MAX_SAFE_INTEGER, due_date: '2026-01-01' },
        ],
        policy: flat(0),
        asOf: '2026-01-01',
        firstDueDate: '2026-01-01',
      }),
    ).toThrow(RangeError);
  });

  it('is a pure function of its inputs', () => {
    const input = {
      debts: [
        { amount_cents: 123_456, due_date: '2025-01-01' },
        { amount_cents: 99_999, credited_cents: 1, due_date: '2025-11-30' },
      ],
      policy: DEFAULT_POLICY,
      asOf: '2026-01-01',
      firstDueDate: '2026-01-10',
    };
    const snapshot = structuredClone(input);
    const first = computeOffers(input);
    expect(computeOffers(structuredClone(input))).toEqual(first);
    expect(input).toEqual(snapshot);
  });
});

describe('effectiveMonthlyRate', () => {
  it('finds the rate of a known cash flow', () => {
    // 2 parcels of 60000 worth 100000: 60000 + 60000/(1+r) = 100000 → 1 + r = 1.5
    expect(effectiveMonthlyRate([60_000, 60_000], 100_000)).toBeCloseTo(0.5, 12);
    // parcels worth less than cash: a negative rate. 40000 + 50000/(1+r) = 100000 → 1+r = 5/6
    expect(effectiveMonthlyRate([40_000, 50_000], 100_000)).toBeCloseTo(-1 / 6, 12);
    // parcel 1 ≥ cash: no rate
    expect(effectiveMonthlyRate([100_000, 1], 100_000)).toBeNull();
    expect(effectiveMonthlyRate([100_000], 100_000)).toBeNull();
  });

  it('a very expensive plan still converges', () => {
    const r = effectiveMonthlyRate([99_999, ...Array<number>(71).fill(99_999)], 100_000)!;
    let pv = 0;
    for (let k = 0; k < 72; k++) pv += 99_999 / Math.pow(1 + r, k);
    expect(pv).toBeCloseTo(100_000, 6);
  });
});
