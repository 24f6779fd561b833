// Early payoff (CONTRACT §7) against hand computations, and the pro-rata credit split (§8).
import { describe, expect, it } from 'vitest';
import { splitProRata } from '../../src/modules/agreements/credit.js';
import { payoffCents } from '../../src/modules/payments/payoff.js';

const TODAY = '2026-11-23';

describe('payoffCents', () => {
  it('discounts each unpaid parcel by (1 + i)^(days/30) and rounds the sum once', () => {
    // i = 1 % a month, today 23/11/2026:
    //   10000 due today (0 days)                    10000
    //   10000 due 23/12/2026 (30 days)  10000 / 1.01             =  9900.990099…
    //   10000 due 23/01/2027 (61 days)  10000 / 1.01^(61/30)     =  9799.709609…
    //   10050 due 23/02/2027 (92 days)  10050 / 1.01^(92/30)     =  9747.962477…
    //   sum 39448.662186…  →  39449 centavos
    const parcels = [
      { amount_cents: 10_000, due_date: '2026-11-23' },
      { amount_cents: 10_000, due_date: '2026-12-23' },
      { amount_cents: 10_000, due_date: '2027-01-23' },
      { amount_cents: 10_050, due_date: '2027-02-23' },
    ];
    expect(payoffCents(parcels, 1, TODAY)).toBe(39_449);
  });

  it('does not discount a parcel already due or overdue (max(0, days))', () => {
    // 5000 (10 days late) + 5000 / 1.01^(21/30) + 5000 / 1.01^(51/30) = 5000 + 4965.269… + 4916.158… = 14881.428…
    const parcels = [
      { amount_cents: 5_000, due_date: '2026-11-13' },
      { amount_cents: 5_000, due_date: '2026-12-14' },
      { amount_cents: 5_000, due_date: '2027-01-13' },
    ];
    expect(payoffCents(parcels, 1, TODAY)).toBe(14_881);
  });

  it('handles rates with two decimals, long horizons and a zero rate', () => {
    // 123456 / 1.0099^(15/30) = 122849.393…
    expect(payoffCents([{ amount_cents: 123_456, due_date: '2026-12-08' }], 0.99, TODAY)).toBe(122_849);
    // 100000 / 1.2^24 = 1257.911…
    expect(payoffCents([{ amount_cents: 100_000, due_date: '2028-11-12' }], 20, TODAY)).toBe(1_258);
    expect(payoffCents([{ amount_cents: 10_000, due_date: '2027-11-23' }], 0, TODAY)).toBe(10_000);
    expect(payoffCents([], 1, TODAY)).toBe(0);
  });

  it('rounds an exact half away from zero (no floating-point drift)', () => {
    // 3 / 1.2 = 2.5 exactly → 3; 9 / 1.2 = 7.5 → 8
    expect(payoffCents([{ amount_cents: 3, due_date: '2026-12-23' }], 20, TODAY)).toBe(3);
    expect(payoffCents([{ amount_cents: 9, due_date: '2026-12-23' }], 20, TODAY)).toBe(8);
    // 101 / 1.01 = 100 exactly; 1.5 · 2 parcels of 3/1.2 = 5 exactly
    expect(payoffCents([{ amount_cents: 101, due_date: '2026-12-23' }], 1, TODAY)).toBe(100);
    expect(payoffCents([{ amount_cents: 3, due_date: '2026-12-23' }, { amount_cents: 3, due_date: '2026-12-23' }], 20, TODAY)).toBe(5);
  });

  it('is never more than the parcels themselves, and equal at a zero rate', () => {
    const parcels = Array.from({ length: 72 }, (_, k) => ({ amount_cents: 9_999 + k, due_date: `${2026 + Math.floor((10 + k) / 12)}-${String(((10 + k) % 12) + 1).padStart(2, '0')}-23` }));
    const nominal = parcels.reduce((s, p) => s + p.amount_cents, 0);
    expect(payoffCents(parcels, 1, TODAY)).toBeLessThan(nominal);
    expect(payoffCents(parcels, 0, TODAY)).toBe(nominal);
  });
});

describe('splitProRata', () => {
  it('splits in proportion to principal, each share half away from zero, the remainder to the largest', () => {
    expect([...splitProRata(1_000, [{ key: 1, principal_cents: 300 }, { key: 2, principal_cents: 700 }])]).toEqual([[1, 300], [2, 700]]);
    // 100 over three equal principals: 33.33 each → 33; the remainder 1 goes to the first of the largest
    expect([...splitProRata(100, [{ key: 1, principal_cents: 5 }, { key: 2, principal_cents: 5 }, { key: 3, principal_cents: 5 }])]).toEqual([[1, 34], [2, 33], [3, 33]]);
    // 5 over two equal principals: 2.5 → 3 each (half away from zero), 6 in all: the largest gives 1 back
    expect([...splitProRata(5, [{ key: 'a', principal_cents: 10 }, { key: 'b', principal_cents: 10 }])]).toEqual([['a', 2], ['b', 3]]);
    // 1001 over 1:2: 333.67 → 334 and 667.33 → 667; sum 1001
    expect([...splitProRata(1_001, [{ key: 1, principal_cents: 100 }, { key: 2, principal_cents: 200 }])]).toEqual([[1, 334], [2, 667]]);
  });

  it('gives nothing when there is no principal', () => {
    expect([...splitProRata(500, [{ key: 1, principal_cents: 0 }])]).toEqual([[1, 0]]);
    expect([...splitProRata(500, [])]).toEqual([]);
  });
});
