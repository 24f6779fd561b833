// The one place where rows become debts. Two entry points with the same rules:
// - mergeStagedRows: rows staged in import_rows, merged by line range in a short transaction
//   (the JSON batch, and imports on PGlite);
// - mergeStageBatch: one batch of an import on PostgreSQL, staged in the import's own
//   TEMP table inside the single transaction that loads the whole file.
import type { RawTx } from '../../db/raw.js';

export const STAGE_COLUMNS = ['import_id', 'line', 'external_id', 'cpf', 'name', 'email', 'phone', 'amount_cents', 'due_date', 'description'] as const;

const STATUS_MESSAGES: Record<string, string> = {
  in_agreement: 'dívida em acordo: não pode ser alterada enquanto o acordo estiver vigente',
  settled: 'dívida já quitada: não pode ser alterada',
  withdrawn: 'dívida retirada: não pode ser alterada',
  prescribed: 'dívida prescrita: não pode ser alterada',
};

export const CREDITED_MESSAGE = 'valor menor que o já pago em acordo anterior (credited_cents)';

/** The values an import sets on an open debt; it is left untouched when none of them changed. */
const IMPORTED = ['cpf', 'name', 'email', 'phone', 'amount_cents', 'due_date', 'description'] as const;
const setImported = (from: string) => IMPORTED.map((c) => `${c} = ${from}.${c}`).join(', ');
const changed = (target: string, from: string) =>
  `(${IMPORTED.map((c) => `${target}.${c}`).join(', ')}) IS DISTINCT FROM (${IMPORTED.map((c) => `${from}.${c}`).join(', ')})`;

function rejection(line: number, status: string): MergeResult['rejected'][number] {
  return status !== 'open'
    ? { line, column: 'external_id', message: STATUS_MESSAGES[status] ?? `dívida com status ${status}` }
    : { line, column: 'amount', message: CREDITED_MESSAGE };
}

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
  const rejected = conflicts.map((c) => rejection(Number(c.line), c.status));
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
    // New ids go in in byte order, debts' own (import_rows keeps the database's collation),
    // as mergeStageBatch inserts them: two merges naming the same new ids cannot deadlock.
    await tx.query(
      `INSERT INTO debts (creditor_id, external_id, cpf, name, email, phone, amount_cents, due_date, description)
       SELECT $2, r.external_id, r.cpf, r.name, r.email, r.phone, r.amount_cents, r.due_date, r.description
         FROM import_rows r
        WHERE r.import_id = $1 AND r.line > $3 AND r.line <= $4 AND NOT (r.line = ANY($5::int[]))
        ORDER BY r.external_id COLLATE "C"
       ON CONFLICT (creditor_id, external_id) DO UPDATE
          SET ${setImported('EXCLUDED')}, updated_at = now()
        WHERE debts.status = 'open' AND ${changed('debts', 'EXCLUDED')}`,
      [importId, creditorId, fromLine, toLine, rejectedLines],
    );
  }
  await tx.query(`DELETE FROM import_rows WHERE import_id = $1 AND line > $2 AND line <= $3`, [importId, fromLine, toLine]);
  return { imported: Number(n) - rejected.length, rejected };
}

/**
 * A batch of an import on PostgreSQL is COPY text with these columns, in file order. It goes
 * either straight into debts (when none of its ids can exist yet: see batchMayExist) or into
 * the import's staging table (TEMP, no index, emptied after each batch, dropped at commit),
 * where `ord` numbers the rows as they came, and from there through mergeStageBatch.
 */
export const BATCH_COLUMNS = ['creditor_id', 'external_id', 'cpf', 'name', 'email', 'phone', 'amount_cents', 'due_date', 'description'] as const;
export const STAGE_TABLE = 'import_stage';
/** Its columns are debts' (the same types and collations: ids compare and sort as in debts). Several statements, for RawTx.exec. */
export const CREATE_STAGE_TABLE = `CREATE TEMP TABLE ${STAGE_TABLE} ON COMMIT DROP AS SELECT ${BATCH_COLUMNS.join(', ')} FROM debts WITH NO DATA;
ALTER TABLE ${STAGE_TABLE} ADD COLUMN ord integer GENERATED ALWAYS AS IDENTITY`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether external_id compares as bytes (code points) in this database: then the lowest and
 * highest id of a batch, found in JavaScript, bound it as the debts index sees it, and
 * batchMayExist can rule a batch out with one index probe. Other collations (en_US…) take the
 * staging table for every batch: slower, the same result.
 */
export async function idsCompareAsBytes(tx: RawTx): Promise<boolean> {
  const [row] = await tx.query<{ coll: string; provider: string; ctype: string }>(
    `SELECT c.collname AS coll, d.datlocprovider AS provider, d.datcollate AS ctype
       FROM pg_attribute a
       JOIN pg_collation c ON c.oid = a.attcollation
       JOIN pg_database d ON d.datname = current_database()
      WHERE a.attrelid = 'debts'::regclass AND a.attname = 'external_id'`,
  );
  if (!row) return false;
  if (['C', 'POSIX', 'ucs_basic'].includes(row.coll)) return true;
  return row.coll === 'default' && row.provider === 'c' && ['C', 'POSIX', 'C.UTF-8', 'C.utf8'].includes(row.ctype);
}

/** Whether the creditor has any debt whose external_id is between `lo` and `hi` (one index probe). */
export async function batchMayExist(tx: RawTx, args: { creditorId: string; lo: string; hi: string }): Promise<boolean> {
  const [row] = await tx.query<{ hit: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM debts WHERE creditor_id = $1 AND external_id BETWEEN $2 AND $3) AS hit',
    [args.creditorId, args.lo, args.hi],
  );
  return row?.hit ?? true;
}

/**
 * The statement that merges the staged batch into debts, then empties the stage: one round
 * trip. The rules are mergeStagedRows's:
 *
 * - `r`: does the creditor have any debt whose external_id falls between the batch's lowest
 *   and highest? One index probe. If not (in any collation), nothing else is read: the batch
 *   is inserted as it is.
 * - Otherwise `locked` finds the debts the batch names (one index probe per id) and locks
 *   them, in external_id order (a stable order: two writers cannot deadlock on them), before
 *   anything is written: both writers wait for all of it (`count(*) FROM locked` in their
 *   one-time filter). `merged` upserts the rows of those debts: an open debt takes the new
 *   values unless they are all the same (the row is not written: updated_at stays) or the
 *   amount is below credited_cents; any other status is left as it is. `fresh` inserts the
 *   others, new debts, as plain rows: no per-row conflict handling to pay for.
 * - The main query returns the rejected rows (by `ord`) with their reason, read from the
 *   locked (current) versions of the debts.
 *
 * A dry run reads the same way, without locks or writes. A debt created by another
 * transaction between this statement's snapshot and its insert (not by an import: imports of
 * one creditor take turns) makes `fresh` fail with a unique violation; the caller then starts
 * the whole import over. The same holds for a batch COPYed straight into debts.
 */
function stageMergeSql(creditorId: string, dryRun: boolean): string {
  if (!UUID.test(creditorId)) throw new Error(`mergeStageBatch: not a uuid: ${creditorId}`);
  const creditor = `'${creditorId}'::uuid`;
  const values = `s.creditor_id, s.external_id, s.cpf, s.name, s.email, s.phone, s.amount_cents, s.due_date, s.description`;
  const columns = BATCH_COLUMNS.join(', ');
  const probe = `r AS MATERIALIZED (
    SELECT EXISTS (
      SELECT 1 FROM debts d, (SELECT min(external_id) AS lo, max(external_id) AS hi FROM ${STAGE_TABLE}) b
       WHERE d.creditor_id = ${creditor} AND d.external_id BETWEEN b.lo AND b.hi) AS hit)`;
  // = ANY(array) keeps this an index probe per staged id, whatever the planner thinks of a
  // temp table without statistics (a join would be planned as a scan of all the creditor's debts).
  const locked = `locked AS MATERIALIZED (
    SELECT d.external_id, d.status, d.credited_cents FROM debts d
     WHERE (SELECT hit FROM r) AND d.creditor_id = ${creditor}
       AND d.external_id = ANY (ARRAY(SELECT external_id FROM ${STAGE_TABLE}))
     ORDER BY d.external_id${dryRun ? '' : ' FOR UPDATE'})`;
  const writes = dryRun
    ? ''
    : `,
  merged AS (
    INSERT INTO debts AS d (${columns})
    SELECT ${values} FROM ${STAGE_TABLE} s JOIN locked l ON l.external_id = s.external_id
     WHERE (SELECT count(*) FROM locked) >= 0
     ORDER BY s.external_id
    ON CONFLICT (creditor_id, external_id) DO UPDATE SET ${setImported('EXCLUDED')}, updated_at = now()
     WHERE d.status = 'open' AND EXCLUDED.amount_cents >= d.credited_cents AND ${changed('d', 'EXCLUDED')}),
  fresh AS (
    INSERT INTO debts (${columns})
    SELECT ${values} FROM ${STAGE_TABLE} s
     WHERE (SELECT count(*) FROM locked) >= 0 AND NOT EXISTS (SELECT 1 FROM locked l WHERE l.external_id = s.external_id)
     ORDER BY s.external_id)`;
  return `WITH ${probe},
  ${locked}${writes}
SELECT s.ord, l.status FROM locked l JOIN ${STAGE_TABLE} s ON s.external_id = l.external_id
 WHERE l.status <> 'open' OR s.amount_cents < l.credited_cents
 ORDER BY s.ord;
TRUNCATE ${STAGE_TABLE} RESTART IDENTITY`;
}

/**
 * Merges the batch staged in STAGE_TABLE (`rows` rows, all of `creditorId`) into debts and
 * empties the stage. `lineOf` turns a staged row's `ord` (1, 2… in COPY order) into its
 * spreadsheet line. PostgreSQL only. See stageMergeSql for the rules.
 */
export async function mergeStageBatch(
  tx: RawTx,
  args: { creditorId: string; rows: number; dryRun: boolean; lineOf: (ord: number) => number },
): Promise<MergeResult> {
  const [found = []] = await tx.exec(stageMergeSql(args.creditorId, args.dryRun));
  const rejected = found.map((r) => rejection(args.lineOf(Number(r.ord)), String(r.status)));
  return { imported: args.rows - rejected.length, rejected };
}
