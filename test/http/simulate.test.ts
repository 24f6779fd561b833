// POST /api/v1/simulate (contract §4.4, offers of §3) over HTTP on the real app: worked
// examples computed by hand (rounding half away from zero), the engine on random inputs,
// defaults, huge values and a 422 for every bad body.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeOffers, type DebtInput } from '../../src/modules/negotiation/offers.js';
import { DEFAULT_POLICY, type Policy } from '../../src/modules/negotiation/policy.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

// The test clock starts at 2026-11-23T12:00:00-03:00: today is 2026-11-23 in São Paulo.
const NOW = new Date('2026-11-23T12:00:00-03:00');

let t: TestApp;
let store: SeededCreditor; // never PUTs a policy: version 0, the defaults
let bank: SeededCreditor; // a financial institution, never PUTs a policy either
let other: SeededCreditor; // sets policies of its own
beforeAll(async () => {
  t = await buildTestApp({ now: NOW });
  store = await seedCreditor(t);
  bank = await seedCreditor(t, { financial_institution: true });
  other = await seedCreditor(t);
});
afterAll(async () => t.close());

type Parcel = { number: number; due_date: string; amount_cents: number };
type Offer = {
  kind: 'cash' | 'installments';
  installments: number;
  total_cents: number;
  discount_cents: number;
  installment_monthly_rate_pct: number;
  effective_monthly_rate_pct: number;
  effective_annual_rate_pct: number;
  parcels: Parcel[];
};
type Simulation = { balance_cents: number; offers: Offer[] };
type FieldError = { path: string; message: string };

async function simulate(c: SeededCreditor, body: unknown) {
  return t.request.post('/api/v1/simulate').set(c.auth).send(body as object);
}

async function simulated(c: SeededCreditor, body: unknown): Promise<Simulation> {
  const res = await simulate(c, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Simulation;
}

function plan(result: Simulation, n: number): Offer {
  const found = result.offers.find((o) => o.kind === 'installments' && o.installments === n);
  if (!found) throw new Error(`no plan of ${n}`);
  return found;
}

/** A policy with no fine, no interest and no discount (S = B = the amounts). */
function flat(rate: number, overrides: Partial<Policy> = {}): Policy {
  return {
    ...DEFAULT_POLICY,
    late_fine_pct: 0,
    monthly_interest_pct: 0,
    bands: [{ min_days_overdue: 0, cash_discount_pct: 0, installment_discount_pct: 0 }],
    installment_monthly_rate_pct: rate,
    max_installments: 72,
    min_installment_cents: 0,
    ...overrides,
  };
}

describe('POST /api/v1/simulate: worked examples', () => {
  it('one debt, the current (default) policy, as_of today and first_due_date as_of', async () => {
    // as_of = 2026-11-23; due 2026-09-24: d = 30 (to 24 Oct) + 30 (to 23 Nov) = 60
    // P = 250000; F = round(250000 × 2 %) = 5000; J = round(250000 × 1 % × 60/30) = 5000
    // B = 260000; band 0 (10 % / 0 %): cash = 260000 − 26000 = 234000; S = 260000
    // n = 2: PMT = 260000 × 0.01 × 1.01 / (1.01² − 1) = 2626 / 0.0201 = 130646.77 → 130647;
    //        total = round(261293.53) = 261294; last = 261294 − 130647 = 130647;
    //        discount = 260000 − 261294 = −1294
    //        effective: 130647 + 130647/(1 + r) = 234000 → 1 + r = 130647/103353 → r = 26.41 %,
    //        annual (130647/103353)^12 − 1 = 15.6462… → 1564.62 %
    // n = 12: PMT = 2600 × 1.01^11 / (1.01^12 − 1) = 2900.7377 / 0.1268250 = 22871.97 → 22872;
    //        total = round(274463.58) = 274464; last = 274464 − 11 × 22872 = 22872
    // every PMT ≥ 5000 (the default minimum): cash and 11 plans
    const result = await simulated(store, { debts: [{ amount_cents: 250_000, due_date: '2026-09-24' }] });
    expect(result.balance_cents).toBe(260_000);
    expect(result.offers.map((o) => o.installments)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(result.offers[0]).toEqual({
      kind: 'cash',
      installments: 1,
      total_cents: 234_000,
      discount_cents: 26_000,
      installment_monthly_rate_pct: 0,
      effective_monthly_rate_pct: 0,
      effective_annual_rate_pct: 0,
      parcels: [{ number: 1, due_date: '2026-11-23', amount_cents: 234_000 }],
    });
    expect(plan(result, 2)).toEqual({
      kind: 'installments',
      installments: 2,
      total_cents: 261_294,
      discount_cents: -1294,
      installment_monthly_rate_pct: 1,
      effective_monthly_rate_pct: 26.41,
      effective_annual_rate_pct: 1564.62,
      parcels: [
        { number: 1, due_date: '2026-11-23', amount_cents: 130_647 },
        { number: 2, due_date: '2026-12-23', amount_cents: 130_647 },
      ],
    });
    const twelve = plan(result, 12);
    expect(twelve.total_cents).toBe(274_464);
    expect(twelve.discount_cents).toBe(-14_464);
    expect(twelve.parcels.map((p) => p.amount_cents)).toEqual(Array<number>(12).fill(22_872));
    expect(twelve.parcels.map((p) => p.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(twelve.parcels[11]!.due_date).toBe('2027-10-23');
  });

  it('several debts, each in its own band, summed', async () => {
    // as of 2026-06-30, default policy:
    // A: 100000 due 2026-06-20, d = 10: F 2000, J round(333.33) = 333, B 102333, band 0:
    //    cash 102333 − round(10233.3) = 92100, S 102333
    // B: 50000 due 2026-03-01, d = 121: F 1000, J round(2016.67) = 2017, B 53017, band 1:
    //    cash 53017 − round(21206.8) = 31810, S 53017 − round(10603.4) = 42414
    // C: 20000 due 2025-01-15, d = 531: F 400, J round(3540) = 3540, B 23940, band 2:
    //    cash 23940 − round(16758) = 7182, S 23940 − 11970 = 11970
    // ΣB = 179290, Σcash = 131092, ΣS = 156717
    // n = 2: 156717 × 0.01 × 1.01/0.0201 = 78748.4… → 78748; total round(157496.9) = 157497; last 78749
    // n = 12: 13786.3… → 13786; total 165435; last 165435 − 11 × 13786 = 13789
    const result = await simulated(store, {
      debts: [
        { amount_cents: 100_000, due_date: '2026-06-20' },
        { amount_cents: 50_000, due_date: '2026-03-01' },
        { amount_cents: 20_000, due_date: '2025-01-15' },
      ],
      as_of: '2026-06-30',
      first_due_date: '2026-07-05',
    });
    expect(result.balance_cents).toBe(179_290);
    expect(result.offers[0]!.total_cents).toBe(131_092);
    expect(result.offers[0]!.discount_cents).toBe(179_290 - 131_092);
    expect(result.offers[0]!.parcels).toEqual([{ number: 1, due_date: '2026-07-05', amount_cents: 131_092 }]);
    expect(plan(result, 2).parcels).toEqual([
      { number: 1, due_date: '2026-07-05', amount_cents: 78_748 },
      { number: 2, due_date: '2026-08-05', amount_cents: 78_749 },
    ]);
    expect(plan(result, 2).discount_cents).toBe(179_290 - 157_497);
    expect(plan(result, 12).total_cents).toBe(165_435);
    expect(plan(result, 12).parcels[11]!.amount_cents).toBe(13_789);
  });

  it('an inline policy, credits and a rate of 0', async () => {
    // policy: no fine, 0.5 % interest, one band 20 % / 10 %, 0 % a.m., up to 4 parcels of ≥ 10000
    // P = 120000 − 20000 = 100000; d = 2026-10-24 → 2026-11-23 = 30; F = 0 (0 %)
    // J = round(100000 × 0.5 % × 30/30) = 500; B = 100500
    // cash = 100500 − round(20100) = 80400; S = 100500 − round(10050) = 90450
    // i = 0: n = 2: 45225 × 2; n = 3: 30150 × 3; n = 4: 22612.5 → 22613, last 90450 − 3 × 22613 = 22611
    // every plan's total is S = 90450, discount 100500 − 90450 = 10050
    // effective n = 2: 45225 + 45225/(1 + r) = 80400 → 1 + r = 45225/35175 = 9/7 → 28.57 %;
    //   annual (9/7)^12 − 1 = 19.4049 → 1940.49 %
    // effective n = 3: 30150 (1 + v + v²) = 80400 → v² + v − 5/3 = 0 → v = (−1 + √(23/3))/2
    //   = 0.88444 → r = 13.07 %
    const policy = {
      late_fine_pct: 0,
      monthly_interest_pct: 0.5,
      bands: [{ min_days_overdue: 0, cash_discount_pct: 20, installment_discount_pct: 10 }],
      installment_monthly_rate_pct: 0,
      max_installments: 4,
      min_installment_cents: 10_000,
    };
    const result = await simulated(store, {
      debts: [{ amount_cents: 120_000, credited_cents: 20_000, due_date: '2026-10-24' }],
      first_due_date: '2026-12-01',
      policy,
    });
    expect(result.balance_cents).toBe(100_500);
    expect(result.offers.map((o) => [o.kind, o.total_cents, o.discount_cents])).toEqual([
      ['cash', 80_400, 20_100],
      ['installments', 90_450, 10_050],
      ['installments', 90_450, 10_050],
      ['installments', 90_450, 10_050],
    ]);
    expect(plan(result, 2).parcels).toEqual([
      { number: 1, due_date: '2026-12-01', amount_cents: 45_225 },
      { number: 2, due_date: '2027-01-01', amount_cents: 45_225 },
    ]);
    expect([plan(result, 2).effective_monthly_rate_pct, plan(result, 2).effective_annual_rate_pct]).toEqual([28.57, 1940.49]);
    expect(plan(result, 3).parcels.map((p) => p.amount_cents)).toEqual([30_150, 30_150, 30_150]);
    expect(plan(result, 3).effective_monthly_rate_pct).toBe(13.07);
    expect(plan(result, 4).parcels.map((p) => [p.due_date, p.amount_cents])).toEqual([
      ['2026-12-01', 22_613],
      ['2027-01-01', 22_613],
      ['2027-02-01', 22_613],
      ['2027-03-01', 22_611],
    ]);
    for (const offer of result.offers) expect(offer.installment_monthly_rate_pct).toBe(0);
    // the creditor's own policy is untouched
    expect((await t.request.get('/api/v1/policy').set(store.auth)).body.version).toBe(0);
  });

  it("uses the creditor's current policy when none is given", async () => {
    // max 3 parcels, no discount, 0 %: B = 10000 (not yet due), S = 10000, parcels 3333, 3333, 3334
    const put = await t.request
      .put('/api/v1/policy')
      .set(other.auth)
      .send({ bands: [{ min_days_overdue: 0, cash_discount_pct: 0, installment_discount_pct: 0 }], max_installments: 3, min_installment_cents: 0, installment_monthly_rate_pct: 0 });
    expect(put.status).toBe(200);
    const result = await simulated(other, { debts: [{ amount_cents: 10_000, due_date: '2026-12-01' }] });
    expect(result.offers.map((o) => o.total_cents)).toEqual([10_000, 10_000, 10_000]);
    expect(plan(result, 3).parcels.map((p) => p.amount_cents)).toEqual([3333, 3333, 3334]);
    // another creditor's simulation is not affected by it: the defaults, 12 plans possible
    const mine = await simulated(store, { debts: [{ amount_cents: 10_000_000, due_date: '2026-12-01' }] });
    expect(mine.offers.at(-1)!.installments).toBe(12);
  });

  it('offers a plan whose parcel 1 is not below the cash price, with the capped effective rate', async () => {
    // B = S = 1000000 not yet due, cash discount 99.99 %: cash = 1000000 − round(999900) = 100;
    // n = 2 at 1 %: 502488 + 502487 (see the engine tests); no rate makes them worth 100
    const result = await simulated(store, {
      debts: [{ amount_cents: 1_000_000, due_date: '2026-12-31' }],
      policy: flat(1, { bands: [{ min_days_overdue: 0, cash_discount_pct: 99.99, installment_discount_pct: 0 }], max_installments: 2 }),
    });
    expect(result.offers.map((o) => o.total_cents)).toEqual([100, 1_004_975]);
    expect(plan(result, 2).effective_monthly_rate_pct).toBe(999_999.99);
    expect(plan(result, 2).effective_annual_rate_pct).toBeGreaterThan(1e49);
  });

  it('gives no offers when nothing is left to pay', async () => {
    const result = await simulated(store, { debts: [{ amount_cents: 5000, credited_cents: 5000, due_date: '2026-01-01' }] });
    expect(result).toEqual({ balance_cents: 0, offers: [] });
  });

  it('ignores prescription: a debt due more than 5 years ago still has offers', async () => {
    const result = await simulated(store, { debts: [{ amount_cents: 100_000, due_date: '2015-03-10' }] });
    expect(result.offers.length).toBeGreaterThan(1);
    const expected = computeOffers({ debts: [{ amount_cents: 100_000, due_date: '2015-03-10' }], policy: DEFAULT_POLICY, asOf: '2026-11-23', firstDueDate: '2026-11-23' });
    expect(result).toEqual({ balance_cents: expected.balance_cents, offers: expected.offers });
  });
});

describe('POST /api/v1/simulate: dates', () => {
  it('as_of defaults to today on the TZ_BUSINESS calendar, not in UTC', async () => {
    const debts = [{ amount_cents: 100_000, due_date: '2026-11-23' }];
    try {
      // 02:30 UTC on the 24th is still 23:30 on the 23rd in São Paulo: d = 0, no fine
      t.clock.set(new Date('2026-11-24T02:30:00Z'));
      const late = await simulated(store, { debts });
      expect(late.balance_cents).toBe(100_000);
      expect(late.offers[0]!.parcels[0]!.due_date).toBe('2026-11-23');
      // at 03:00 UTC it is midnight of the 24th: d = 1, F = 2000, J = round(33.33) = 33
      t.clock.set(new Date('2026-11-24T03:00:00Z'));
      const next = await simulated(store, { debts });
      expect(next.balance_cents).toBe(102_033);
      expect(next.offers[0]!.parcels[0]!.due_date).toBe('2026-11-24');
    } finally {
      t.clock.set(NOW);
    }
  });

  it('first_due_date defaults to as_of, with no window applied', async () => {
    // as_of the 31st: parcels on the 31st or the month's last day
    const atMonthEnd = await simulated(store, { debts: [{ amount_cents: 1_000_000, due_date: '2026-01-31' }], as_of: '2026-01-31' });
    expect(plan(atMonthEnd, 3).parcels.map((p) => p.due_date)).toEqual(['2026-01-31', '2026-02-28', '2026-03-31']);
    // a first due date far from as_of, even before it, is taken as given
    const far = await simulated(store, { debts: [{ amount_cents: 1_000_000, due_date: '2026-01-31' }], as_of: '2026-01-31', first_due_date: '2027-06-15' });
    expect(far.offers[0]!.parcels[0]!.due_date).toBe('2027-06-15');
    const before = await simulated(store, { debts: [{ amount_cents: 1_000_000, due_date: '2026-01-31' }], as_of: '2026-01-31', first_due_date: '2025-12-01' });
    expect(before.offers[0]!.parcels[0]!.due_date).toBe('2025-12-01');
    // the balance depends on as_of only
    expect(before.balance_cents).toBe(atMonthEnd.balance_cents);
  });
});

describe('POST /api/v1/simulate: huge values', () => {
  it('R$ 10 bilhões over 72 parcels at 20 % a.m. (financial institution)', async () => {
    const debts = [{ amount_cents: 1_000_000_000_000, due_date: '2026-11-23' }];
    const policy = flat(20);
    const result = await simulated(bank, { debts, policy });
    expect(result.offers).toHaveLength(72);
    const last = plan(result, 72);
    expect(last.parcels).toHaveLength(72);
    expect(last.parcels.reduce((s, p) => s + p.amount_cents, 0)).toBe(last.total_cents);
    // PMT = S·i·(1+i)^71 / ((1+i)^72 − 1) with i = 2000/10000, exactly
    const a = 12_000n ** 72n - 10_000n ** 72n;
    expect(BigInt(last.parcels[0]!.amount_cents)).toBe((10n ** 12n * 2000n * 12_000n ** 71n * 2n + a) / (a * 2n));
    expect(last.parcels[71]!.due_date).toBe('2032-10-23');
    const expected = computeOffers({ debts, policy, asOf: '2026-11-23', firstDueDate: '2026-11-23' });
    expect(result).toEqual({ balance_cents: expected.balance_cents, offers: expected.offers });
  });

  it('1000 debts of R$ 10 bilhões each', async () => {
    const debts = Array.from({ length: 1000 }, (_, i) => ({ amount_cents: 1_000_000_000_000, due_date: i % 2 ? '2026-11-23' : '2026-12-23' }));
    const result = await simulated(store, { debts });
    // not yet due: B = amount; band 0: cash = 90 %
    expect(result.balance_cents).toBe(1e15);
    expect(result.offers[0]!.total_cents).toBe(9e14);
    expect(result.offers).toHaveLength(12);
  });

  it('answers 422 on the debts, not 500, when a sum or total would pass 2^53 centavos', async () => {
    const twice = await simulate(store, {
      debts: [
        { amount_cents: Number.MAX_SAFE_INTEGER, due_date: '2026-11-23' },
        { amount_cents: Number.MAX_SAFE_INTEGER, due_date: '2026-11-23' },
      ],
    });
    expect(twice.status).toBe(422);
    expect(twice.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((twice.body.errors as FieldError[]).map((e) => e.path)).toEqual(['debts']);
    // one debt: its balance fits, the 12-parcel total (with 1 % a.m.) does not
    const total = await simulate(store, { debts: [{ amount_cents: Number.MAX_SAFE_INTEGER, due_date: '2026-11-23' }] });
    expect(total.status).toBe(422);
    // 126 years of 20 % a month on R$ 10 trilhões: J = 1e15 × 0.2 × 46,000/30 ≈ 3e17
    const interest = await simulate(bank, { debts: [{ amount_cents: 1e15, due_date: '1900-01-01' }], policy: { monthly_interest_pct: 20 } });
    expect(interest.status).toBe(422);
    expect((interest.body.errors as FieldError[])[0]!.path).toBe('debts');
  });
});

describe('POST /api/v1/simulate: refused bodies', () => {
  const debt = { amount_cents: 10_000, due_date: '2026-01-01' };
  const cases: [string, unknown, string][] = [
    ['no debts field', {}, 'debts'],
    ['an empty list of debts', { debts: [] }, 'debts'],
    ['1001 debts', { debts: Array<typeof debt>(1001).fill(debt) }, 'debts'],
    ['debts not a list', { debts: debt }, 'debts'],
    ['a debt that is not an object', { debts: [1] }, 'debts.0'],
    ['a missing amount', { debts: [{ due_date: '2026-01-01' }] }, 'debts.0.amount_cents'],
    ['an amount of 0', { debts: [{ ...debt, amount_cents: 0 }] }, 'debts.0.amount_cents'],
    ['a negative amount', { debts: [{ ...debt, amount_cents: -100 }] }, 'debts.0.amount_cents'],
    ['a fractional amount', { debts: [{ ...debt, amount_cents: 100.5 }] }, 'debts.0.amount_cents'],
    ['an amount as a string', { debts: [{ ...debt, amount_cents: '100' }] }, 'debts.0.amount_cents'],
    ['a null amount', { debts: [{ ...debt, amount_cents: null }] }, 'debts.0.amount_cents'],
    ['an amount beyond 2^53', { debts: [{ ...debt, amount_cents: 2 ** 53 }] }, 'debts.0.amount_cents'],
    ['an amount of 1e300', { debts: [{ ...debt, amount_cents: 1e300 }] }, 'debts.0.amount_cents'],
    ['an impossible due date', { debts: [{ ...debt, due_date: '2026-02-30' }] }, 'debts.0.due_date'],
    ['29 February of a common year', { debts: [debt, { ...debt, due_date: '2027-02-29' }] }, 'debts.1.due_date'],
    ['a Brazilian-format due date', { debts: [{ ...debt, due_date: '23/11/2026' }] }, 'debts.0.due_date'],
    ['a due date with a time', { debts: [{ ...debt, due_date: '2026-01-01T00:00:00Z' }] }, 'debts.0.due_date'],
    ['a due date as a number', { debts: [{ ...debt, due_date: 20260101 }] }, 'debts.0.due_date'],
    ['a missing due date', { debts: [{ amount_cents: 100 }] }, 'debts.0.due_date'],
    ['a negative credit', { debts: [{ ...debt, credited_cents: -1 }] }, 'debts.0.credited_cents'],
    ['a fractional credit', { debts: [{ ...debt, credited_cents: 0.5 }] }, 'debts.0.credited_cents'],
    ['a credit above the amount', { debts: [{ ...debt, credited_cents: 10_001 }] }, 'debts.0.credited_cents'],
    ['an unknown debt field', { debts: [{ ...debt, cpf: '12345678909' }] }, 'debts.0.cpf'],
    ['a bad as_of', { debts: [debt], as_of: '2026-13-01' }, 'as_of'],
    ['a bad first_due_date', { debts: [debt], first_due_date: '2026-04-31' }, 'first_due_date'],
    ['an unknown field', { debts: [debt], today: '2026-01-01' }, 'today'],
    ['a policy that is not an object', { debts: [debt], policy: 'default' }, 'policy'],
    ['a policy band out of bounds', { debts: [debt], policy: { bands: [{ min_days_overdue: 0, cash_discount_pct: 100, installment_discount_pct: 0 }] } }, 'policy.bands.0.cash_discount_pct'],
    ['a policy with bands unsorted', { debts: [debt], policy: { bands: [{ min_days_overdue: 0, cash_discount_pct: 1, installment_discount_pct: 0 }, { min_days_overdue: 0, cash_discount_pct: 2, installment_discount_pct: 0 }] } }, 'policy.bands.1.min_days_overdue'],
    ['a policy with 73 parcels', { debts: [debt], policy: { max_installments: 73 } }, 'policy.max_installments'],
    ['a policy with three decimals', { debts: [debt], policy: { late_fine_pct: 1.234 } }, 'policy.late_fine_pct'],
    ['a policy rate above 1 % for a store', { debts: [debt], policy: { installment_monthly_rate_pct: 1.5 } }, 'policy.installment_monthly_rate_pct'],
    ['an unknown policy field', { debts: [debt], policy: { version: 1 } }, 'policy.version'],
    ['a body that is a list', [debt], ''],
  ];

  it.each(cases)('refuses %s with its path', async (_name, body, path) => {
    const res = await simulate(store, body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 422, title: 'Unprocessable Content', detail: expect.any(String) });
    expect((res.body.errors as FieldError[]).map((e) => e.path)).toContain(path);
  });

  it('says what is wrong with an amount, once', async () => {
    const huge = await simulate(store, { debts: [{ amount_cents: 2 ** 53, due_date: '2026-01-01' }] });
    expect(huge.body.errors).toEqual([{ path: 'debts.0.amount_cents', message: 'must be at most 9007199254740991' }]);
    const fraction = await simulate(store, { debts: [{ amount_cents: -1.5, due_date: '2026-01-01' }] });
    expect(fraction.body.errors).toEqual([{ path: 'debts.0.amount_cents', message: 'must be an integer number of centavos' }]);
    const missing = await simulate(store, { debts: [{ due_date: '2026-02-30' }] });
    expect(missing.body.errors).toEqual([
      { path: 'debts.0.amount_cents', message: 'is required' },
      { path: 'debts.0.due_date', message: 'must be a real date YYYY-MM-DD between 1900 and 2999' },
    ]);
  });

  it('names every problem at once', async () => {
    const res = await simulate(store, { debts: [{ amount_cents: 0, due_date: '2026-02-30', foo: 1 }], as_of: 'today', policy: { max_installments: 0 } });
    expect(res.status).toBe(422);
    expect((res.body.errors as FieldError[]).map((e) => e.path).sort()).toEqual(['as_of', 'debts.0.amount_cents', 'debts.0.due_date', 'debts.0.foo', 'policy.max_installments']);
  });

  it('allows a financial institution the rates a store is refused', async () => {
    const res = await simulate(bank, { debts: [{ amount_cents: 10_000, due_date: '2026-01-01' }], policy: { installment_monthly_rate_pct: 1.5, monthly_interest_pct: 20 } });
    expect(res.status).toBe(200);
    const refused = await simulate(bank, { debts: [{ amount_cents: 10_000, due_date: '2026-01-01' }], policy: { installment_monthly_rate_pct: 20.01 } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ path: 'policy.installment_monthly_rate_pct', message: 'must be at most 20' }]);
  });

  it('needs a token, and answers 400 to malformed JSON', async () => {
    expect((await t.request.post('/api/v1/simulate').send({ debts: [] })).status).toBe(401);
    const malformed = await t.request.post('/api/v1/simulate').set(store.auth).set('Content-Type', 'application/json').send('{"debts": [');
    expect(malformed.status).toBe(400);
  });
});

describe('POST /api/v1/simulate: Idempotency-Key', () => {
  it('replays the first response for the same key and body, 422 for another body', async () => {
    const body = { debts: [{ amount_cents: 77_777, due_date: '2026-10-01' }] };
    const first = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-1').send(body);
    expect(first.status).toBe(200);
    // the policy changes, yet the same key answers the first response again
    await t.request.put('/api/v1/policy').set(other.auth).send({ max_installments: 1 });
    const again = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-1').send(body);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const fresh = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-2').send(body);
    expect((fresh.body as Simulation).offers).toHaveLength(1);
    const reused = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-1').send({ debts: [{ amount_cents: 1, due_date: '2026-10-01' }] });
    expect(reused.status).toBe(422);
    // a refused body does not use a key up
    const refused = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-3').send({ debts: [] });
    expect(refused.status).toBe(422);
    const accepted = await t.request.post('/api/v1/simulate').set(other.auth).set('Idempotency-Key', 'sim-3').send(body);
    expect(accepted.status).toBe(200);
    expect(accepted.headers['idempotent-replayed']).toBeUndefined();
    // keys belong to one creditor
    const elsewhere = await t.request.post('/api/v1/simulate').set(store.auth).set('Idempotency-Key', 'sim-1').send({ debts: [{ amount_cents: 1, due_date: '2026-10-01' }] });
    expect(elsewhere.status).toBe(200);
  });
});

// ---------------------------------------------------------------- the engine, over HTTP

const dayMs = 86_400_000;
const dateArb = (from: string, to: string) =>
  fc.integer({ min: Date.parse(from) / dayMs, max: Date.parse(to) / dayMs }).map((d) => new Date(d * dayMs).toISOString().slice(0, 10));
const hundredths = (max: number) => fc.integer({ min: 0, max }).map((h) => h / 100);

const bandsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 1500 }), { maxLength: 4 })
  .chain((mins) =>
    fc.tuple(
      ...[0, ...mins.sort((a, b) => a - b)].map((min) =>
        fc
          .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 9999 }))
          .map(([x, y]) => ({ min_days_overdue: min, cash_discount_pct: Math.max(x, y) / 100, installment_discount_pct: Math.min(x, y) / 100 })),
      ),
    ),
  );

/** Within a financial institution's bounds; some fields left out (they take the defaults). */
const policyArb = fc.record(
  {
    late_fine_pct: hundredths(200),
    monthly_interest_pct: hundredths(2000),
    bands: bandsArb,
    max_installments: fc.integer({ min: 1, max: 72 }),
    min_installment_cents: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
    installment_monthly_rate_pct: fc.oneof(fc.constant(0), hundredths(300), hundredths(2000)),
  },
  { requiredKeys: [] },
);

const debtArb = fc
  .record({
    amount_cents: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000_000 })),
    credited: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    due_date: dateArb('2018-01-01', '2028-12-31'),
  })
  .map(({ amount_cents, credited, due_date }): DebtInput => {
    const credited_cents = Math.floor(amount_cents * credited);
    return credited_cents > 0 ? { amount_cents, credited_cents, due_date } : { amount_cents, due_date };
  });

const bodyArb = fc.record(
  {
    debts: fc.array(debtArb, { minLength: 1, maxLength: 6 }),
    as_of: dateArb('2024-01-01', '2028-12-31'),
    first_due_date: dateArb('2024-01-01', '2029-12-31'),
    policy: policyArb,
  },
  { requiredKeys: ['debts'] },
);

describe('POST /api/v1/simulate: the engine over HTTP', () => {
  it('answers exactly the engine’s offers for random debts, policies and dates', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await simulate(bank, body);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const asOf = body.as_of ?? '2026-11-23';
        // the policy the bank has: version 0, the defaults; an inline one fills in the defaults
        const policy: Policy = { ...DEFAULT_POLICY, ...body.policy } as Policy;
        const expected = computeOffers({ debts: body.debts, policy, asOf, firstDueDate: body.first_due_date ?? asOf });
        expect(res.body).toEqual({ balance_cents: expected.balance_cents, offers: expected.offers });
      }),
      { numRuns: 40 },
    );
  });
});
