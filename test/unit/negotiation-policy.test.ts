// Policy bounds of contract §4.4: each refused at its own dotted path.
import { describe, it, expect } from 'vitest';
import { DEFAULT_POLICY, defaultPolicy, hasAtMostTwoDecimals, policyInputSchema } from '../../src/modules/negotiation/policy.js';
import { pctToBasisHundredths } from '../../src/lib/money.js';

const common = policyInputSchema({ financialInstitution: false });
const bank = policyInputSchema({ financialInstitution: true });

function issues(input: unknown, schema = common): { path: string; message: string }[] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

function paths(input: unknown, schema = common): string[] {
  return [...new Set(issues(input, schema).map((i) => i.path))];
}

const band = (min: number, cash: number, installment: number) => ({
  min_days_overdue: min,
  cash_discount_pct: cash,
  installment_discount_pct: installment,
});

describe('policy defaults', () => {
  it('the defaults are the contract JSON', () => {
    expect(DEFAULT_POLICY).toEqual({
      late_fine_pct: 2,
      monthly_interest_pct: 1,
      bands: [
        { min_days_overdue: 0, cash_discount_pct: 10, installment_discount_pct: 0 },
        { min_days_overdue: 91, cash_discount_pct: 40, installment_discount_pct: 20 },
        { min_days_overdue: 361, cash_discount_pct: 70, installment_discount_pct: 50 },
      ],
      max_installments: 12,
      min_installment_cents: 5000,
      installment_monthly_rate_pct: 1,
      first_due_max_days: 10,
      offer_validity_hours: 48,
      break_after_days: 30,
    });
    expect(Object.isFrozen(DEFAULT_POLICY.bands[0])).toBe(true);
  });

  it('an empty body is the defaults, and a fresh copy each time', () => {
    const a = common.parse({});
    const b = common.parse({});
    expect(a).toEqual(DEFAULT_POLICY);
    expect(a.bands).not.toBe(b.bands);
    a.bands[0]!.cash_discount_pct = 1;
    expect(common.parse({}).bands[0]!.cash_discount_pct).toBe(10);
  });

  it('omitted fields take the defaults, given ones are kept', () => {
    const parsed = common.parse({ late_fine_pct: 1.5, bands: [band(0, 5, 5)] });
    expect(parsed).toEqual({ ...defaultPolicy(), late_fine_pct: 1.5, bands: [band(0, 5, 5)] });
  });

  it('accepts every bound itself', () => {
    const edges = {
      late_fine_pct: 2,
      monthly_interest_pct: 1,
      bands: Array.from({ length: 10 }, (_, i) => band(i * 30, 99.99, i === 0 ? 0 : 99.99)),
      max_installments: 72,
      min_installment_cents: Number.MAX_SAFE_INTEGER,
      installment_monthly_rate_pct: 0,
      first_due_max_days: 30,
      offer_validity_hours: 720,
      break_after_days: 180,
    };
    expect(issues(edges)).toEqual([]);
    const low = { late_fine_pct: 0, monthly_interest_pct: 0, max_installments: 1, min_installment_cents: 0, first_due_max_days: 0, offer_validity_hours: 48, break_after_days: 1 };
    expect(issues(low)).toEqual([]);
  });
});

describe('policy bounds', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['late_fine_pct above 2', { late_fine_pct: 2.01 }, 'late_fine_pct'],
    ['late_fine_pct negative', { late_fine_pct: -0.01 }, 'late_fine_pct'],
    ['monthly_interest_pct above 1', { monthly_interest_pct: 1.01 }, 'monthly_interest_pct'],
    ['monthly_interest_pct negative', { monthly_interest_pct: -1 }, 'monthly_interest_pct'],
    ['installment_monthly_rate_pct above 1', { installment_monthly_rate_pct: 1.5 }, 'installment_monthly_rate_pct'],
    ['installment_monthly_rate_pct negative', { installment_monthly_rate_pct: -0.5 }, 'installment_monthly_rate_pct'],
    ['max_installments 0', { max_installments: 0 }, 'max_installments'],
    ['max_installments 73', { max_installments: 73 }, 'max_installments'],
    ['max_installments fractional', { max_installments: 2.5 }, 'max_installments'],
    ['min_installment_cents negative', { min_installment_cents: -1 }, 'min_installment_cents'],
    ['min_installment_cents fractional', { min_installment_cents: 10.5 }, 'min_installment_cents'],
    ['min_installment_cents unsafe', { min_installment_cents: 2 ** 53 }, 'min_installment_cents'],
    ['first_due_max_days 31', { first_due_max_days: 31 }, 'first_due_max_days'],
    ['first_due_max_days negative', { first_due_max_days: -1 }, 'first_due_max_days'],
    ['offer_validity_hours 47', { offer_validity_hours: 47 }, 'offer_validity_hours'],
    ['offer_validity_hours 721', { offer_validity_hours: 721 }, 'offer_validity_hours'],
    ['break_after_days 0', { break_after_days: 0 }, 'break_after_days'],
    ['break_after_days 181', { break_after_days: 181 }, 'break_after_days'],
    ['break_after_days fractional', { break_after_days: 1.5 }, 'break_after_days'],
    ['a percentage as a string', { late_fine_pct: '1' }, 'late_fine_pct'],
    ['null', { monthly_interest_pct: null }, 'monthly_interest_pct'],
    ['no bands', { bands: [] }, 'bands'],
    ['eleven bands', { bands: Array.from({ length: 11 }, (_, i) => band(i, 1, 0)) }, 'bands'],
    ['bands not a list', { bands: { min_days_overdue: 0 } }, 'bands'],
    ['a band not an object', { bands: [band(0, 1, 0), 7] }, 'bands.1'],
    ['first band not at 0', { bands: [band(1, 10, 0)] }, 'bands.0.min_days_overdue'],
    ['repeated min_days_overdue', { bands: [band(0, 10, 0), band(30, 20, 0), band(30, 30, 0)] }, 'bands.2.min_days_overdue'],
    ['descending min_days_overdue', { bands: [band(0, 10, 0), band(60, 20, 0), band(30, 30, 0)] }, 'bands.2.min_days_overdue'],
    ['negative min_days_overdue', { bands: [band(0, 10, 0), band(-5, 20, 0)] }, 'bands.1.min_days_overdue'],
    ['fractional min_days_overdue', { bands: [band(0, 10, 0), band(1.5, 20, 0)] }, 'bands.1.min_days_overdue'],
    ['cash discount above 99.99', { bands: [band(0, 10, 0), band(91, 100, 0)] }, 'bands.1.cash_discount_pct'],
    ['cash discount negative', { bands: [band(0, -1, 0)] }, 'bands.0.cash_discount_pct'],
    ['installment discount negative', { bands: [band(0, 10, -1)] }, 'bands.0.installment_discount_pct'],
    ['installment discount above cash', { bands: [band(0, 10, 0), band(91, 40, 40.01)] }, 'bands.1.installment_discount_pct'],
    ['a band field missing', { bands: [{ min_days_overdue: 0, cash_discount_pct: 10 }] }, 'bands.0.installment_discount_pct'],
    ['an unknown band field', { bands: [{ ...band(0, 10, 0), max_days_overdue: 90 }] }, 'bands.0'],
  ];

  for (const [name, input, path] of cases) {
    it(`refuses ${name} at ${path}`, () => {
      expect(paths(input)).toEqual([path]);
      for (const issue of issues(input)) expect(issue.message.length).toBeGreaterThan(3);
    });
  }

  it('names every bad field at once', () => {
    expect(paths({ late_fine_pct: 3, bands: [band(0, 10, 20), band(91, 120, 0)], max_installments: 100 }).sort()).toEqual(
      ['bands.0.installment_discount_pct', 'bands.1.cash_discount_pct', 'late_fine_pct', 'max_installments'].sort(),
    );
  });

  it('refuses unknown fields', () => {
    const found = issues({ late_fine_pct: 1, version: 3 });
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe('');
    expect(found[0]!.message).toContain('version');
  });

  it('refuses a non-object body', () => {
    expect(paths(null)).toEqual(['']);
    expect(paths([])).toEqual(['']);
    expect(paths('policy')).toEqual(['']);
  });

  it('refuses percentages with more than two decimals', () => {
    expect(paths({ late_fine_pct: 1.005 })).toEqual(['late_fine_pct']);
    expect(issues({ late_fine_pct: 1.005 })[0]!.message).toMatch(/two decimals/);
    expect(paths({ monthly_interest_pct: 0.001 })).toEqual(['monthly_interest_pct']);
    expect(paths({ installment_monthly_rate_pct: 1e-7 })).toEqual(['installment_monthly_rate_pct']);
    expect(paths({ bands: [band(0, 33.333, 0)] })).toEqual(['bands.0.cash_discount_pct']);
    expect(paths({ bands: [band(0, 50, 12.345)] })).toEqual(['bands.0.installment_discount_pct']);
    // two decimals, including the ones binary floating point cannot hold exactly
    expect(issues({ late_fine_pct: 1.01, monthly_interest_pct: 0.07, bands: [band(0, 99.99, 0.29)] })).toEqual([]);
  });

  it('refuses huge values', () => {
    expect(paths({ max_installments: 1e300 })).toEqual(['max_installments']);
    expect(paths({ min_installment_cents: Number.MAX_VALUE })).toEqual(['min_installment_cents']);
    expect(paths({ late_fine_pct: 1e21 })).toEqual(['late_fine_pct']);
    expect(paths({ bands: [band(0, 10, 0), band(1e300, 20, 0)] })).toEqual(['bands.1.min_days_overdue']);
    expect(paths({ offer_validity_hours: Number.MAX_SAFE_INTEGER + 2 })).toEqual(['offer_validity_hours']);
  });

  it('a financial institution may charge up to 20 % a month', () => {
    const rates = { monthly_interest_pct: 20, installment_monthly_rate_pct: 12.5 };
    expect(issues(rates, bank)).toEqual([]);
    expect(paths(rates)).toEqual(['monthly_interest_pct', 'installment_monthly_rate_pct']);
    expect(issues(rates)[0]!.message).toMatch(/financial institution/);
    expect(paths({ monthly_interest_pct: 20.01 }, bank)).toEqual(['monthly_interest_pct']);
    expect(paths({ installment_monthly_rate_pct: 21 }, bank)).toEqual(['installment_monthly_rate_pct']);
    // the fine stays capped at 2 % for everyone
    expect(paths({ late_fine_pct: 3 }, bank)).toEqual(['late_fine_pct']);
  });
});

describe('hasAtMostTwoDecimals', () => {
  it('agrees with pctToBasisHundredths on what it accepts', () => {
    for (let hundredths = 0; hundredths <= 9999; hundredths++) {
      const pct = hundredths / 100;
      expect(hasAtMostTwoDecimals(pct)).toBe(true);
      expect(pctToBasisHundredths(pct)).toBe(BigInt(hundredths));
    }
    for (const bad of [0.001, 1.005, 99.999, 1e-7, 0.125, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(hasAtMostTwoDecimals(bad)).toBe(false);
    }
  });
});
