// The one place where rows become debts: imports (by line range) and the JSON batch
// both stage rows in import_rows and call mergeStagedRows in the same transaction.
import type { RawTx } from '../../db/raw.js';

export const STAGE_COLUMNS = ['import_id', 'line', 'external_id', 'cpf', 'name', 'email', 'phone', 'amount_cents', 'due_date', 'description'] as const;

const STATUS_MESSAGES: Record<string, string> = {
  in_agreement: 'dívida em acordo: não pode ser alterada enquanto o acordo estiver vigente',
  settled: 'dívida já quitada: não pode ser alterada',
  withdrawn: 'dívida retirada: não pode ser alterada',
  prescribed: 'dívida prescrita: não pode ser alterada',
};

export const CREDITED_MESSAGE = 'valor menor que o já pago em acordo anterior (credited_cents)';

export interface MergeResult {
  /** Rows that were (or, in a dry run, would be) stored. */
  imported: number;
  rejected: { line: number; column: string; message: string }[];
}

/**
 * Merges staged rows of one import with `line` in (fromLine, toLine] into debts.
 * Existing debts named by the chunk are locked first, so a debt cannot enter an agreement
 * between the check and the write. An `open` debt takes the new values (and is not touched
 * when nothing changed); any other status, or a new amount below what was already
 * credited, rejects the row with the reason.
 */
export async function mergeStagedRows(
  tx: RawTx,
  args: { importId: string; creditorId: string; fromLine: number; toLine: number; dryRun: boolean },
): Promise<MergeResult> {
  const { importId, creditorId, fromLine, toLine, dryRun } = args;
  const conflicts = await tx.query<{ line: number; status: string; below_credit: boolean }>(
    `SELECT r.line, d.status, r.amount_cents < d.credited_cents AS below_credit
       FROM import_rows r
       JOIN debts d ON d.creditor_id = $2 AND d.external_id = r.external_id
      WHERE r.import_id = $1 AND r.line > $3 AND r.line <= $4
        AND (d.status <> 'open' OR r.amount_cents < d.credited_cents)
      ORDER BY d.external_id
      ${dryRun ? '' : 'FOR UPDATE OF d'}`,
    [importId, creditorId, fromLine, toLine],
  );
  const rejected = conflicts.map((c) => ({
    line: Number(c.line),
    column: c.status !== 'open' ? 'external_id' : 'amount',
    message: c.status !== 'open' ? (STATUS_MESSAGES[c.status] ?? `dívida com status ${c.status}`) : CREDITED_MESSAGE,
  }));
  const rejectedLines = rejected.map((r) => r.line);

  const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM import_rows WHERE import_id = $1 AND line > $2 AND line <= $3`,
    [importId, fromLine, toLine],
  );

  if (!dryRun) {
    // Lock the open debts of the chunk too, in a stable order, before writing.
    await tx.query(
      `SELECT 1 FROM debts d JOIN import_rows r ON d.creditor_id = $2 AND d.external_id = r.external_id
        WHERE r.import_id = $1 AND r.line > $3 AND r.line <= $4 ORDER BY d.external_id FOR UPDATE OF d`,
      [importId, creditorId, fromLine, toLine],
    );
    await tx.query(
      `INSERT INTO debts (creditor_id, external_id, cpf, name, email, phone, amount_cents, due_date, description)
       SELECT $2, r.external_id, r.cpf, r.name, r.email, r.phone, r.amount_cents, r.due_date, r.description
         FROM import_rows r
        WHERE r.import_id = $1 AND r.line > $3 AND r.line <= $4 AND NOT (r.line = ANY($5::int[]))
        ORDER BY r.external_id
       ON CONFLICT (creditor_id, external_id) DO UPDATE
          SET cpf = EXCLUDED.cpf, name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone,
              amount_cents = EXCLUDED.amount_cents, due_date = EXCLUDED.due_date, description = EXCLUDED.description,
              updated_at = now()
        WHERE debts.status = 'open'
          AND (debts.cpf, debts.name, debts.email, debts.phone, debts.amount_cents, debts.due_date, debts.description)
              IS DISTINCT FROM
              (EXCLUDED.cpf, EXCLUDED.name, EXCLUDED.email, EXCLUDED.phone, EXCLUDED.amount_cents, EXCLUDED.due_date, EXCLUDED.description)`,
      [importId, creditorId, fromLine, toLine, rejectedLines],
    );
  }
  await tx.query(`DELETE FROM import_rows WHERE import_id = $1 AND line > $2 AND line <= $3`, [importId, fromLine, toLine]);
  return { imported: Number(n) - rejected.length, rejected };
}
