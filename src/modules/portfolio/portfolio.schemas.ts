import { z } from 'zod';
import { DEBT_STATUSES } from '../../db/schema/index.js';
import { decodeCursor, listSchema, pageQuerySchema } from '../../lib/pagination.js';
import { cpfField } from '../../lib/zod-fields.js';

export const importSummary = z.object({
  id: z.uuid(),
  status: z.enum(['processing', 'completed', 'failed']),
  dry_run: z.boolean(),
  rows_total: z.number().int(),
  rows_imported: z.number().int(),
  rows_rejected: z.number().int(),
  error: z.string().optional().describe('A whole-file problem, when the import failed'),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});

export const importDetail = importSummary.extend({
  errors: z.array(z.object({ line: z.number().int(), column: z.string().nullable(), message: z.string() })).describe('The first 1,000 rejected rows; errors.csv has all'),
});

export const importAccepted = z.object({ id: z.uuid(), status: z.literal('processing') });

export const importQuery = z.object({
  dry_run: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const importList = listSchema(importSummary);

/**
 * An imports cursor must decode to a UUID and an instant PostgreSQL can hold: `decodeCursor`
 * checks only that the id is a string, and a forged cursor would otherwise reach the SQL
 * cast (`::uuid`, `::timestamptz`) and answer 500 instead of 422.
 */
function isImportCursor(cursor: string): boolean {
  try {
    const decoded = decodeCursor(cursor);
    return decoded !== undefined && z.uuid().safeParse(decoded.id).success && /^\d{4}-/.test(decoded.createdAt.toISOString());
  } catch {
    return false;
  }
}

export const listQuery = z.object({
  ...pageQuerySchema,
  cursor: pageQuerySchema.cursor.refine((c) => c === undefined || isImportCursor(c), 'invalid cursor'),
});

export const debtJson = z.object({
  external_id: z.string(),
  cpf: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  amount_cents: z.number().int(),
  credited_cents: z.number().int(),
  due_date: z.string(),
  description: z.string().nullable(),
  status: z.enum(DEBT_STATUSES),
  withdrawn_reason: z.enum(['withdrawn', 'paid_elsewhere']).nullable(),
  balance_cents: z.number().int().describe("Today's updated balance B while open or in an agreement; 0 otherwise"),
});

export const debtList = listSchema(debtJson);

export const debtListQuery = z.object({
  ...pageQuerySchema,
  status: z.enum(DEBT_STATUSES).optional(),
  cpf: cpfField.optional(),
});

export const debtBatchItem = z
  .object({
    external_id: z.string(),
    cpf: z.string(),
    name: z.string(),
    email: z.string().optional(),
    phone: z.string().optional(),
    amount_cents: z.number().int(),
    due_date: z.string(),
    description: z.string().optional(),
  })
  .describe('Each item is checked alone with the CSV rules; bad items are reported, good ones kept');

export const debtBatchBody = z.strictObject({
  debts: z.array(z.unknown()).min(1).max(1000).describe('Up to 1,000 debts (see DebtBatchItem)'),
});

export const debtBatchResult = z.object({
  imported: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(z.object({ index: z.number().int(), path: z.string(), message: z.string() })),
});

export const externalIdParams = z.object({ external_id: z.string().min(1).max(64) });
// A DELETE without a body reaches validation as null (not undefined): both mean the default reason.
export const withdrawBody = z.strictObject({ reason: z.enum(['withdrawn', 'paid_elsewhere']).default('withdrawn') }).nullish();
