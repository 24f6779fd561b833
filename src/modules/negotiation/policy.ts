// A creditor's negotiation policy (contract §4.4): its shape, its defaults and its bounds.
import { z } from 'zod';

export type Band = {
  min_days_overdue: number;
  cash_discount_pct: number;
  installment_discount_pct: number;
};

export type Policy = {
  late_fine_pct: number;
  monthly_interest_pct: number;
  bands: Band[];
  max_installments: number;
  min_installment_cents: number;
  installment_monthly_rate_pct: number;
  first_due_max_days: number;
  offer_validity_hours: number;
  break_after_days: number;
};

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The contract's defaults (version 0). Deeply frozen: copy it before changing anything. */
export const DEFAULT_POLICY: Policy = deepFreeze({
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

/** A fresh, mutable copy of the defaults. */
export function defaultPolicy(): Policy {
  return { ...DEFAULT_POLICY, bands: DEFAULT_POLICY.bands.map((band) => ({ ...band })) };
}

export const POLICY_LIMITS = {
  late_fine_pct: { min: 0, max: 2 },
  /** monthly_interest_pct and installment_monthly_rate_pct */
  rate_pct: { min: 0, max: 1 },
  rate_pct_financial_institution: { min: 0, max: 20 },
  discount_pct: { min: 0, max: 99.99 },
  bands: { min: 1, max: 10 },
  max_installments: { min: 1, max: 72 },
  min_installment_cents: { min: 0, max: Number.MAX_SAFE_INTEGER },
  first_due_max_days: { min: 0, max: 30 },
  offer_validity_hours: { min: 48, max: 720 },
  break_after_days: { min: 1, max: 180 },
} as const;

/**
 * At most two decimals, judged on the number's shortest decimal form (what JSON wrote):
 * 1.5 and 99.99 pass, 1.005 and 1e-7 do not. Every value that passes converts exactly with
 * `pctToBasisHundredths`.
 */
export function hasAtMostTwoDecimals(value: number): boolean {
  return Number.isFinite(value) && /^-?\d+(?:\.\d{1,2})?$/.test(String(value));
}

const NUMBER = {
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : 'must be a number'),
};

function percentage(min: number, max: number, why = '') {
  return z
    .number(NUMBER)
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}${why}` })
    .refine(hasAtMostTwoDecimals, { error: 'must have at most two decimals' });
}

function integer(min: number, max: number) {
  return z
    .number(NUMBER)
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
}

const bandSchema = z
  .strictObject(
    {
      min_days_overdue: integer(0, Number.MAX_SAFE_INTEGER),
      cash_discount_pct: percentage(POLICY_LIMITS.discount_pct.min, POLICY_LIMITS.discount_pct.max),
      installment_discount_pct: percentage(POLICY_LIMITS.discount_pct.min, POLICY_LIMITS.discount_pct.max),
    },
    { error: unknownKeysMessage },
  )
  .superRefine((band, ctx) => {
    const cash = band.cash_discount_pct;
    // compared only when cash_discount_pct is itself valid (its own issue says what is wrong)
    const cashValid = cash >= POLICY_LIMITS.discount_pct.min && cash <= POLICY_LIMITS.discount_pct.max;
    if (cashValid && band.installment_discount_pct > cash) {
      ctx.addIssue({
        code: 'custom',
        path: ['installment_discount_pct'],
        message: `must not exceed cash_discount_pct (${band.cash_discount_pct})`,
        input: band.installment_discount_pct,
      });
    }
  });

function unknownKeysMessage(issue: { code?: string; keys?: readonly string[] }): string | undefined {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  }
  if (issue.code === 'invalid_type') return 'must be an object';
  return undefined;
}

const bandsSchema = z
  .array(bandSchema, { error: 'must be a list of bands' })
  .min(POLICY_LIMITS.bands.min, { error: `must have at least ${POLICY_LIMITS.bands.min} band` })
  .max(POLICY_LIMITS.bands.max, { error: `must have at most ${POLICY_LIMITS.bands.max} bands` })
  .superRefine((bands, ctx) => {
    const first = bands[0];
    if (first && first.min_days_overdue !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: [0, 'min_days_overdue'],
        message: 'the first band must start at 0 days overdue',
        input: first.min_days_overdue,
      });
    }
    for (let i = 1; i < bands.length; i++) {
      const previous = bands[i - 1]!.min_days_overdue;
      const current = bands[i]!.min_days_overdue;
      if (current === previous) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'min_days_overdue'],
          message: `repeats ${current}: each band needs a distinct min_days_overdue`,
          input: current,
        });
      } else if (current < previous) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'min_days_overdue'],
          message: `bands must be listed by ascending min_days_overdue (${current} comes after ${previous})`,
          input: current,
        });
      }
    }
  });

/**
 * The policy body of `PUT /api/v1/policy` (and `policy` of `POST /api/v1/simulate`): every
 * field optional, an omitted field takes its default, unknown fields refused, every §4.4
 * bound enforced with the issue at its own path (`bands.1.installment_discount_pct`).
 * Band entries have no defaults: each band states its three fields.
 */
export function policyInputSchema(opts: { financialInstitution: boolean }) {
  return opts.financialInstitution ? (schemas.financial ??= buildSchema(true)) : (schemas.common ??= buildSchema(false));
}

const schemas: { common?: ReturnType<typeof buildSchema>; financial?: ReturnType<typeof buildSchema> } = {};

function buildSchema(financialInstitution: boolean) {
  const opts = { financialInstitution };
  const rate = opts.financialInstitution ? POLICY_LIMITS.rate_pct_financial_institution : POLICY_LIMITS.rate_pct;
  const why = opts.financialInstitution ? '' : ' for a creditor that is not a financial institution (Lei de Usura)';
  const L = POLICY_LIMITS;
  const d = DEFAULT_POLICY;
  return z.strictObject(
    {
      late_fine_pct: percentage(L.late_fine_pct.min, L.late_fine_pct.max, ' (CDC art. 52 §1)').default(d.late_fine_pct),
      monthly_interest_pct: percentage(rate.min, rate.max, why).default(d.monthly_interest_pct),
      bands: bandsSchema.default(() => defaultPolicy().bands),
      max_installments: integer(L.max_installments.min, L.max_installments.max).default(d.max_installments),
      min_installment_cents: integer(L.min_installment_cents.min, L.min_installment_cents.max).default(
        d.min_installment_cents,
      ),
      installment_monthly_rate_pct: percentage(rate.min, rate.max, why).default(d.installment_monthly_rate_pct),
      first_due_max_days: integer(L.first_due_max_days.min, L.first_due_max_days.max).default(d.first_due_max_days),
      offer_validity_hours: integer(L.offer_validity_hours.min, L.offer_validity_hours.max).default(
        d.offer_validity_hours,
      ),
      break_after_days: integer(L.break_after_days.min, L.break_after_days.max).default(d.break_after_days),
    },
    { error: unknownKeysMessage },
  );
}

export type PolicyInput = z.input<ReturnType<typeof policyInputSchema>>;

// Compile-time check: the schema's output is exactly a Policy.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const outputIsPolicy: Equals<z.output<ReturnType<typeof policyInputSchema>>, Policy> = true;
void outputIsPolicy;
