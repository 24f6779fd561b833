import { z } from 'zod';
import { AGREEMENT_STATUSES, PARCEL_STATUSES } from '../../db/schema/index.js';
import { listSchema, pageQuerySchema } from '../../lib/pagination.js';

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

export const agreementListQuery = z.strictObject({
  status: z.enum(AGREEMENT_STATUSES).optional(),
  ...pageQuerySchema,
});

export const agreementParams = z.object({ id: z.string().max(100) });
