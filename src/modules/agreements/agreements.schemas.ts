import { z } from 'zod';
import { AGREEMENT_STATUSES, PARCEL_STATUSES } from '../../db/schema/index.js';
import { decodeCursor, listSchema, pageQuerySchema } from '../../lib/pagination.js';

export const parcelResponse = z.object({
  number: z.number().int(),
  due_date: z.string(),
  amount_cents: z.number().int(),
  status: z.enum(PARCEL_STATUSES),
  paid_at: z.string().nullable(),
});

export const agreementResponse = z.object({
  id: z.string(),
  status: z.enum(AGREEMENT_STATUSES),
  debts: z.array(z.string()).describe('external_id of each debt'),
  total_cents: z.number().int(),
  discount_cents: z.number().int().describe('sum of updated balances − total; negative when financing costs more than the discount'),
  installments: z.number().int(),
  installment_monthly_rate_pct: z.number(),
  effective_monthly_rate_pct: z.number(),
  policy_version: z.number().int(),
  accepted_at: z.string(),
  paid_cents: z.number().int(),
  parcels: z.array(parcelResponse),
});

export const agreementListResponse = listSchema(agreementResponse);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An agreements cursor names a uuid: another id would reach PostgreSQL as a bad uuid (a 500, not a 422). */
function isAgreementCursor(cursor: string): boolean {
  try {
    return UUID.test(decodeCursor(cursor)?.id ?? '');
  } catch {
    return false;
  }
}

export const agreementListQuery = z.strictObject({
  status: z.enum(AGREEMENT_STATUSES).optional(),
  ...pageQuerySchema,
  cursor: pageQuerySchema.cursor.refine((c) => c === undefined || isAgreementCursor(c), 'invalid cursor'),
});

export const agreementParams = z.object({ id: z.string().max(100) });
