// Request and response schemas of the policy and simulate routes (contract §4.4). The policy
// bounds depend on the creditor (financial institution or not), so request bodies are
// parsed by the service with the creditor's schema; the route declares the widest one for
// the OpenAPI document.
import { z } from 'zod';
import { parseIsoDate } from '../../lib/dates.js';
import { errors, type FieldError } from '../../lib/errors.js';
import { policyInputSchema } from './policy.js';

export const MAX_SIMULATE_DEBTS = 1000;

type Bounds = { financialInstitution: boolean };

function objectError(issue: { code?: string; input?: unknown }): string | undefined {
  if (issue.code === 'invalid_type') return issue.input === undefined ? 'is required' : 'must be an object';
  return undefined;
}

const typed = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

function centavos(min: number) {
  // the bound first, alone: zod's int check also refuses unsafe integers, with its own message
  return z
    .number(typed('a number'))
    .max(Number.MAX_SAFE_INTEGER, { error: `must be at most ${Number.MAX_SAFE_INTEGER}`, abort: true })
    .int({ error: 'must be an integer number of centavos' })
    .min(min, { error: `must be at least ${min}` });
}

/** A real calendar date written `YYYY-MM-DD` (2026-02-30 is refused, not rolled over). */
export const calendarDateField = z
  .string(typed('a date YYYY-MM-DD'))
  .refine((value) => parseIsoDate(value) === value, { error: 'must be a real date YYYY-MM-DD between 1900 and 2999' })
  .meta({ format: 'date', example: '2026-11-23' });

/**
 * The body of `PUT /api/v1/policy`: a policy (omitted fields take the defaults) within the
 * creditor's bounds. `version` is accepted and ignored whatever its value, so that the body
 * of a GET can be sent back as it is; the stored version is always the next one.
 */
function policyPutBody(bounds: Bounds) {
  return policyInputSchema(bounds)
    .extend({ version: z.unknown().optional().describe('Ignored: each PUT makes the next version.') })
    .transform(({ version: _ignored, ...policy }) => policy);
}

const debtSchema = z
  .strictObject(
    {
      amount_cents: centavos(1),
      due_date: calendarDateField,
      credited_cents: centavos(0).optional().describe('Already credited against the debt (default 0)'),
    },
    { error: objectError },
  )
  .superRefine((debt, ctx) => {
    if (debt.credited_cents !== undefined && debt.credited_cents > debt.amount_cents) {
      ctx.addIssue({ code: 'custom', path: ['credited_cents'], message: `must not exceed amount_cents (${debt.amount_cents})`, input: debt.credited_cents });
    }
  });

function simulateBody(bounds: Bounds) {
  return z.strictObject(
    {
      debts: z
        .array(debtSchema, typed('a list of debts'))
        .min(1, { error: 'must have at least 1 debt' })
        .max(MAX_SIMULATE_DEBTS, { error: `must have at most ${MAX_SIMULATE_DEBTS} debts` }),
      as_of: calendarDateField.optional().describe('The date D of the balances; default today on the business calendar'),
      first_due_date: calendarDateField.optional().describe('Due date of parcel 1; default as_of, no window applied'),
      policy: policyInputSchema(bounds)
        .optional()
        .describe("A what-if policy (omitted fields take the contract's defaults); default the creditor's current policy"),
    },
    { error: objectError },
  );
}

const cache = new Map<string, z.ZodType>();
function cached<T extends z.ZodType>(key: string, build: () => T): T {
  let schema = cache.get(key) as T | undefined;
  if (!schema) {
    schema = build();
    cache.set(key, schema);
  }
  return schema;
}

export const policyBodyFor = (bounds: Bounds) => cached(`policy:${bounds.financialInstitution}`, () => policyPutBody(bounds));
export const simulateBodyFor = (bounds: Bounds) => cached(`simulate:${bounds.financialInstitution}`, () => simulateBody(bounds));

export type SimulateInput = z.output<ReturnType<typeof simulateBody>>;

/** For the OpenAPI document: the widest bounds (rates up to 20 % for a financial institution). */
export const policyBodyDoc = policyPutBody({ financialInstitution: true }).describe(
  'The whole policy; omitted fields take the defaults. monthly_interest_pct and installment_monthly_rate_pct are 0–1 unless the creditor is a financial institution (0–20).',
);
export const simulateBodyDoc = simulateBody({ financialInstitution: true });

/**
 * Parses a request body, or throws the 422 that route validation would give: dotted paths
 * under `prefix`, one error per unknown field.
 */
export function parseBody<T extends z.ZodType>(schema: T, input: unknown, where = 'body'): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw errors.unprocessable(`The request ${where} is invalid.`, fieldErrors(result.error.issues));
}

export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: base ? `${base}.${key}` : key, message: 'unknown field' });
    } else {
      out.push({ path: base, message: issue.message });
    }
  }
  return out;
}

const bandResponse = z.object({
  min_days_overdue: z.int(),
  cash_discount_pct: z.number(),
  installment_discount_pct: z.number(),
});

export const policyResponse = z.object({
  version: z.int().describe('0 is the defaults, for a creditor that never set a policy'),
  late_fine_pct: z.number(),
  monthly_interest_pct: z.number(),
  bands: z.array(bandResponse),
  max_installments: z.int(),
  min_installment_cents: z.int(),
  installment_monthly_rate_pct: z.number(),
  first_due_max_days: z.int(),
  offer_validity_hours: z.int(),
  break_after_days: z.int(),
});

const parcelResponse = z.object({
  number: z.int(),
  due_date: z.string(),
  amount_cents: z.int(),
});

const offerResponse = z.object({
  kind: z.enum(['cash', 'installments']),
  installments: z.int(),
  total_cents: z.int(),
  discount_cents: z.int().describe('Sum of the balances minus total_cents; negative when financing costs more than the discount'),
  installment_monthly_rate_pct: z.number(),
  effective_monthly_rate_pct: z.number(),
  effective_annual_rate_pct: z.number(),
  parcels: z.array(parcelResponse),
});

export const simulateResponse = z.object({
  balance_cents: z.int().describe('Sum of the updated balances B'),
  offers: z.array(offerResponse).describe('Cash first, then plans by ascending installments; empty when the cash price is 0'),
});
