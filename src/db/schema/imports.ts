import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, date, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { cents, createdAt, instant } from './columns.js';
import { creditors } from './creditors.js';

export const IMPORT_STATUSES = ['processing', 'completed', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/**
 * On PGlite an import runs in two phases: `parse` streams the file into import_rows (valid
 * rows) and import_errors (rejected ones); only when the whole file has been read does
 * `merge` upsert import_rows into debts, in short transactions by line range, recording how
 * far it got (merged_through_line), so a merge interrupted by a restart resumes where it
 * stopped. On PostgreSQL it runs in one pass and one transaction (phase `parse` until it
 * ends; import_rows is not used), staging each batch in a temporary table of its own;
 * interrupted, it starts over from the spooled file. Either way a file that fails as a whole
 * changes nothing, and the counts and import_errors are written as it goes, in short
 * transactions of their own.
 */
export const imports = pgTable(
  'imports',
  {
    id: uuid('id').primaryKey(),
    creditorId: uuid('creditor_id')
      .notNull()
      .references(() => creditors.id),
    status: text('status', { enum: IMPORT_STATUSES }).notNull().default('processing'),
    phase: text('phase', { enum: ['upload', 'parse', 'merge', 'done'] }).notNull().default('upload'),
    dryRun: boolean('dry_run').notNull().default(false),
    rowsTotal: integer('rows_total').notNull().default(0),
    rowsImported: integer('rows_imported').notNull().default(0),
    rowsRejected: integer('rows_rejected').notNull().default(0),
    /** The last spreadsheet line whose row has been merged into debts. */
    mergedThroughLine: integer('merged_through_line').notNull().default(1),
    lastLine: integer('last_line').notNull().default(1),
    error: text('error'),
    fileName: text('file_name'),
    fileSha256: text('file_sha256'),
    /** Set while a process works on it; a stale heartbeat means that process died. */
    heartbeatAt: instant('heartbeat_at'),
    createdAt: createdAt(),
    finishedAt: instant('finished_at'),
  },
  (t) => [
    index('imports_creditor_created_idx').on(t.creditorId, t.createdAt, t.id),
    index('imports_processing_idx').on(t.status).where(sql`${t.status} = 'processing'`),
  ],
);

export const importErrors = pgTable(
  'import_errors',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    importId: uuid('import_id')
      .notNull()
      .references(() => imports.id, { onDelete: 'cascade' }),
    creditorId: uuid('creditor_id').notNull(),
    line: integer('line').notNull(),
    column: text('column'),
    message: text('message').notNull(),
  },
  (t) => [index('import_errors_import_line_idx').on(t.importId, t.line)],
);

/** Valid rows of an import on PGlite (and of a JSON batch), between parse and merge; deleted once merged. */
export const importRows = pgTable(
  'import_rows',
  {
    importId: uuid('import_id').notNull(),
    line: integer('line').notNull(),
    externalId: text('external_id').notNull(),
    cpf: text('cpf').notNull(),
    name: text('name').notNull(),
    email: text('email'),
    phone: text('phone'),
    amountCents: cents('amount_cents').notNull(),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    description: text('description'),
  },
  (t) => [index('import_rows_import_line_idx').on(t.importId, t.line), check('import_rows_amount_positive', sql`${t.amountCents} > 0`)],
);
