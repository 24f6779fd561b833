// Imports run in the background. The upload is spooled to disk (memory stays flat; the file
// is hashed for idempotency and kept until the import ends, so that an interrupted one can
// start over). Then:
//
// - On PostgreSQL, one pass in ONE transaction on a dedicated connection: each batch the CSV
//   reader yields is COPYed into a TEMP staging table and merged into debts by one statement
//   (mergeStageBatch), while the next batch is being parsed. Rejected rows and the counts go
//   through other connections, in short transactions of their own, so GET /imports/{id}
//   shows them growing; the debts appear all at once when the transaction commits. A file
//   that fails as a whole mid-way rolls it back (nothing changed); so does a crash, and
//   recovery runs the import again from the spooled file. Imports of one creditor take
//   turns (an advisory lock held by that transaction). When a load slot is free, the load
//   begins with the upload's first bytes, reading the spool file as it grows, and commits
//   only once the request has recorded the import (EarlyLoad); otherwise it waits for the
//   whole file.
// - On PGlite (one connection, where short transactions matter more than speed), in two
//   phases (see src/db/schema/imports.ts): `parse` streams the file into import_rows and
//   import_errors by COPY in short transactions, and only once the whole file has been read
//   does `merge` upsert the rows into debts, chunk by chunk, recording its progress.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { BinaryCopyWriter, uuidBytes } from '../../db/copy-binary.js';
import { copyLine, withRawTransaction, type RawTx } from '../../db/raw.js';
import { importErrors, imports } from '../../db/schema/index.js';
import { today, type Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { decodeCursor, page } from '../../lib/pagination.js';
import { CsvFileError, DebtCsvParser, readDebtCsvBatches } from './csv-reader.js';
import type { DebtRow } from './debt-row.js';
import {
  batchMayExist,
  BATCH_COLUMNS,
  CREATE_STAGE_TABLE,
  idsCompareAsBytes,
  mergeStagedRows,
  mergeStageBatch,
  STAGE_COLUMNS,
  STAGE_TABLE,
  type MergeResult,
} from './portfolio.merge.js';

/** PGlite: rows per parse transaction, lines per merge transaction. */
const CHUNK_ROWS = 5000;
const MERGE_LINES = 5000;
/**
 * PostgreSQL: rows per batch (one COPY + one merge statement). Large enough that the round
 * trips and the per-statement work are noise; small enough that a batch's sort stays in
 * work_mem and that progress shows several times a second.
 */
const BATCH_ROWS = 10_000;
/** PostgreSQL: imports loading at once in one process (each holds a pooled connection throughout). */
const PARALLEL_LOADS = 2;
/** PostgreSQL: a load that meets another transaction (deadlock, a debt created meanwhile) starts over, this many times. */
const LOAD_ATTEMPTS = 3;
const RETRYABLE = new Set(['40P01', '40001', '23505']);
const retryable = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
};
/**
 * PostgreSQL: how long in all a load begun during its upload may wait for the upload's bytes
 * before it gives its slot, connection and transaction back, to start over once the whole
 * file is here (a slow client must not hold them for the length of its upload).
 */
const EARLY_WAIT_MS = 2000;
const FIRST_ERRORS = 1000;
const STALE_MS = 60_000;
const HEARTBEAT_MS = 15_000;
const ERROR_COLUMNS = ['import_id', 'creditor_id', 'line', 'column', 'message'] as const;

export type ImportRow = typeof imports.$inferSelect;
/** What a load needs of its import (an early load has no row yet). */
type LoadTarget = Pick<ImportRow, 'id' | 'creditorId' | 'dryRun'>;

export interface ImportHooks {
  /** Called in the transaction that finishes a (non-dry-run) import: the outbox writes `import.completed` there. */
  onFinished?: (tx: import('../../db/client.js').Executor, summary: ReturnType<typeof toImportSummary>, creditorId: string) => Promise<void>;
  /** Called each time an import's counts have been committed, while it runs (tests watch progress with it). */
  onProgress?: (importId: string) => Promise<void> | void;
}

interface RowError {
  line: number;
  column: string | null;
  message: string;
}

/**
 * One batch on its way to the database, PostgreSQL side: the accepted rows as binary COPY
 * data (BATCH_COLUMNS) in a reusable off-heap buffer, their lines, their lowest and highest
 * external_id, and the rows the reader rejected. Binary spares PostgreSQL COPY's text
 * parsing and the uuid, bigint and date input functions (about a tenth of its work), and
 * this side writes the bytes with no per-row allocation.
 */
class StageBatch {
  private readonly data = new BinaryCopyWriter();
  private lines = new Int32Array(1024);
  rows = 0;
  rejectedRows = 0;
  errors: RowError[] = [];
  lastLine = 0;
  lo = '';
  hi = '';
  /** lo and hi bound the ids in code point order too (no id has a UTF-16 surrogate, where JavaScript's order differs). */
  bounded = true;

  constructor(private readonly creditor: Uint8Array) {}

  get events(): number {
    return this.rows + this.rejectedRows;
  }

  addRow(line: number, r: DebtRow): void {
    const id = r.external_id;
    // BATCH_COLUMNS, in the columns' binary forms. The reader has validated every value
    // (a date that exists, a safe positive amount, no NUL in any text).
    const data = this.data;
    data.row(BATCH_COLUMNS.length);
    data.uuid(this.creditor);
    data.text(id);
    data.text(r.cpf);
    data.text(r.name);
    data.text(r.email);
    data.text(r.phone);
    data.int8(r.amount_cents);
    data.isoDate(r.due_date);
    data.text(r.description);
    if (this.rows === this.lines.length) {
      const more = new Int32Array(this.lines.length * 2);
      more.set(this.lines);
      this.lines = more;
    }
    this.lines[this.rows++] = line;
    if (this.rows === 1 || id < this.lo) this.lo = id;
    if (this.rows === 1 || id > this.hi) this.hi = id;
    if (SURROGATE.test(id)) this.bounded = false;
    this.lastLine = line;
  }

  addRejected(line: number, errors: readonly { column: string | null; message: string }[]): void {
    for (const e of errors) this.errors.push({ line, column: e.column, message: e.message });
    this.rejectedRows++;
    this.lastLine = line;
  }

  /** The spreadsheet line of the `ord`-th row (1-based, in COPY order). */
  lineOf(ord: number): number {
    return this.lines[ord - 1]!;
  }

  /** The COPY data (binary format); valid until the next reset. */
  copyData(): Buffer {
    return this.data.finish();
  }

  reset(): void {
    this.data.reset();
    this.rows = 0;
    this.rejectedRows = 0;
    this.errors = [];
    this.lo = this.hi = '';
    this.bounded = true;
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The spooled file, read 256 KiB at a time and handed to the parser 8 KiB at a time, with a
 * turn of the event loop after each piece (well under a millisecond of parsing): the
 * database's replies (the end of a COPY, of a merge) are read between pieces, so the next
 * statement goes out at once while the parser works on the next batch.
 */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) yield* pieces(chunk as Buffer);
}

async function* pieces(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += 8 * 1024) {
    yield bytes.subarray(offset, offset + 8 * 1024);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The upload was not imported after all (an idempotent replay, a broken or too large upload). */
class Abandoned extends Error {}
/**
 * A load begun during its upload cannot go on now: it waited for the upload longer than
 * EARLY_WAIT_MS, or its creditor's turn is taken. It starts over once the import is recorded.
 */
class NotNow extends Error {}

/**
 * An upload on its way to its spool file, which a load may read while it grows: the import
 * then starts with the first bytes instead of after the last one (PostgreSQL).
 */
class Spool {
  private written = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly file: string) {}

  grew(bytes: number): void {
    this.written = bytes;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * The file's bytes as they are written (never past what was written), until its end.
   * Throws NotNow once it has waited for them `patienceMs` in all.
   */
  async *chunks(patienceMs: number): AsyncGenerator<Buffer> {
    const handle = await open(this.file, 'r');
    let waited = 0;
    try {
      let position = 0;
      for (;;) {
        if (this.failure) throw this.failure;
        if (position < this.written) {
          const bytes = Buffer.allocUnsafe(Math.min(256 * 1024, this.written - position));
          const { bytesRead } = await handle.read(bytes, 0, bytes.length, position);
          position += bytesRead;
          yield* pieces(bytes.subarray(0, bytesRead));
        } else if (this.ended) {
          return;
        } else {
          if (waited >= patienceMs) throw new NotNow('the upload is slower than the load');
          const since = performance.now();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, patienceMs - waited);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = undefined;
          waited += performance.now() - since; // checked once what arrived meanwhile is read
        }
      }
    } finally {
      await handle.close();
    }
  }
}

/**
 * A load begun while its upload arrives. It commits only once the upload has ended and been
 * adopted (the import recorded): a replay of an Idempotency-Key, or an upload that broke
 * off, abandons it and its transaction rolls back.
 */
interface EarlyLoad {
  spool: Spool;
  /** Settles once the request is decided: true when the import was recorded, false when abandoned. */
  adopted: Promise<boolean>;
  adopt(): void;
  abandon(): void;
}

const noop = () => {};
const BINARY = { format: 'binary' } as const;

export function toImportSummary(row: ImportRow) {
  return {
    id: row.id,
    status: row.status,
    dry_run: row.dryRun,
    rows_total: row.rowsTotal,
    rows_imported: row.rowsImported,
    rows_rejected: row.rowsRejected,
    ...(row.error ? { error: row.error } : {}),
    created_at: row.createdAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

class UploadTooLarge extends Error {}

/** The 413 for an upload over the configured limit. */
export function tooLarge(config: Config) {
  const mib = config.maxUploadBytes / 1024 / 1024;
  return errors.payloadTooLarge(`The file is larger than ${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB, the largest this server accepts; split it into smaller files.`);
}
/** The process is shutting down: the import stays `processing` and is resumed later. */
class Interrupted extends Error {}

export function createImportService(deps: {
  database: Database;
  clock: Clock;
  config: Config;
  log: FastifyBaseLogger;
  hooks?: ImportHooks;
  /** Rows per batch (both databases); tests use a small one to run several batches on a small file. */
  batchRows?: number;
}) {
  const { database, clock, config, log, hooks = {} } = deps;
  const db = database.db;
  const chunkRows = deps.batchRows ?? CHUNK_ROWS;
  const mergeLines = deps.batchRows ?? MERGE_LINES;
  const batchRows = deps.batchRows ?? BATCH_ROWS;
  const uploadDir = path.join(config.dataDir, 'uploads');
  const running = new Map<string, Promise<void>>();
  let stopping = false;
  const fileOf = (id: string) => path.join(uploadDir, `${id}.csv`);

  // At most PARALLEL_LOADS single-pass loads at once: each holds a pooled connection for its
  // whole run, and progress writes and the API need the others.
  let loads = 0;
  const waiting: Array<() => void> = [];
  const acquireLoad = (): Promise<void> => {
    if (loads < PARALLEL_LOADS) {
      loads++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const releaseLoad = (): void => {
    const next = waiting.shift();
    if (next) next();
    else loads--;
  };

  /** Writes the upload to its spool file, hashing it on the way; the file's sha256. */
  async function spoolUpload(handle: FileHandle, spool: Spool, source: Readable): Promise<string> {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > config.maxUploadBytes) throw new UploadTooLarge();
        hash.update(chunk);
        for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done)).bytesWritten;
        spool.grew(bytes);
      }
    } finally {
      await handle.close();
    }
    return hash.digest('hex');
  }

  /**
   * PostgreSQL, when a load may start now: the import begins reading the upload as it
   * arrives. Nothing of it is visible, and its transaction cannot commit, before the request
   * records the import (`start`) or drops it (`discard`).
   */
  const earlyLoads = new Map<string, EarlyLoad>();
  function beginEarly(target: LoadTarget, spool: Spool): void {
    loads++; // the slot is released by runSinglePass
    let settle!: (adopted: boolean) => void;
    const adopted = new Promise<boolean>((resolve) => (settle = resolve));
    const early: EarlyLoad = {
      spool,
      adopted,
      adopt: () => settle(true),
      abandon: () => {
        spool.fail(new Abandoned());
        settle(false);
      },
    };
    earlyLoads.set(target.id, early);
    const p = runEarly(target, early)
      .catch(noop)
      .finally(() => {
        running.delete(target.id);
        earlyLoads.delete(target.id);
      });
    running.set(target.id, p);
  }

  async function heartbeat(id: string, values: Partial<typeof imports.$inferInsert> = {}) {
    await db
      .update(imports)
      .set({ ...values, heartbeatAt: clock.now() })
      .where(and(eq(imports.id, id), eq(imports.status, 'processing')));
  }

  async function finish(row: Pick<ImportRow, 'id'>, values: { status: 'completed' | 'failed'; error?: string }) {
    await db.transaction(async (tx) => {
      const [done] = await tx
        .update(imports)
        .set({ status: values.status, phase: 'done', error: values.error ?? null, finishedAt: clock.now(), heartbeatAt: null })
        .where(and(eq(imports.id, row.id), eq(imports.status, 'processing')))
        .returning();
      if (done && !done.dryRun && hooks.onFinished) await hooks.onFinished(tx, toImportSummary(done), done.creditorId);
    });
    rmSync(fileOf(row.id), { force: true });
  }

  /** PGlite, phase 1: the file into import_rows and import_errors. Throws CsvFileError for a whole-file problem. */
  async function parse(row: ImportRow): Promise<void> {
    await withRawTransaction(database, (tx) => resetProgress(tx, row.id, 'parse'));
    const batches = readDebtCsvBatches(createReadStream(fileOf(row.id), { highWaterMark: 256 * 1024 }), {
      today: today(clock, config.tzBusiness),
      batchSize: chunkRows,
    });
    let total = 0;
    let rejected = 0;
    let lastLine = 1;
    for (;;) {
      const next = await batches.next();
      if (next.done) {
        lastLine = next.value.lastLine;
        break;
      }
      if (stopping) throw new Interrupted();
      const batch = next.value;
      let rows = '';
      for (const { line, row: r } of batch.rows) {
        rows += copyLine([row.id, line, r.external_id, r.cpf, r.name, r.email, r.phone, r.amount_cents, r.due_date, r.description]);
        if (line > lastLine) lastLine = line;
      }
      let errs = '';
      for (const { line, errors: es } of batch.rejected) {
        for (const e of es) errs += copyLine([row.id, row.creditorId, line, e.column, e.message]);
        if (line > lastLine) lastLine = line;
      }
      total += batch.rows.length + batch.rejected.length;
      rejected += batch.rejected.length;
      await withRawTransaction(database, async (tx) => {
        await tx.copyIn('import_rows', STAGE_COLUMNS, rows);
        await tx.copyIn('import_errors', ERROR_COLUMNS, errs);
        await tx.query('UPDATE imports SET rows_total = $2, rows_rejected = $3, last_line = $4, heartbeat_at = $5 WHERE id = $1', [row.id, total, rejected, lastLine, clock.now()]);
      });
      await hooks.onProgress?.(row.id);
      // Let the portal answer between chunks (PGlite has one connection).
      await new Promise((resolve) => setImmediate(resolve));
    }
    await heartbeat(row.id, { phase: 'merge', lastLine, rowsTotal: total, rowsRejected: rejected });
  }

  /** PGlite, phase 2: import_rows into debts, by line range, resumable. */
  async function merge(id: string): Promise<void> {
    for (;;) {
      if (stopping) throw new Interrupted();
      const [current] = await db.select().from(imports).where(eq(imports.id, id));
      if (!current || current.status !== 'processing') return;
      if (current.mergedThroughLine >= current.lastLine) return;
      const from = current.mergedThroughLine;
      const to = Math.min(current.lastLine, from + mergeLines);
      await withRawTransaction(database, async (tx) => {
        const result = await mergeStagedRows(tx, { importId: id, creditorId: current.creditorId, fromLine: from, toLine: to, dryRun: current.dryRun });
        let errs = '';
        for (const r of result.rejected) errs += copyLine([id, current.creditorId, r.line, r.column, r.message]);
        await tx.copyIn('import_errors', ERROR_COLUMNS, errs);
        await tx.query(
          'UPDATE imports SET merged_through_line = $2, rows_imported = rows_imported + $3, rows_rejected = rows_rejected + $4, heartbeat_at = $5 WHERE id = $1',
          [id, to, result.imported, result.rejected.length, clock.now()],
        );
      });
      await hooks.onProgress?.(id);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Forgets what an earlier (failed, interrupted or abandoned) attempt of this import recorded. */
  async function resetProgress(tx: RawTx, id: string, phase: 'parse'): Promise<void> {
    await tx.query('DELETE FROM import_rows WHERE import_id = $1', [id]);
    await tx.query('DELETE FROM import_errors WHERE import_id = $1', [id]);
    await tx.query(
      `UPDATE imports SET phase = $2, rows_total = 0, rows_imported = 0, rows_rejected = 0, last_line = 1, merged_through_line = 1 WHERE id = $1`,
      [id, phase],
    );
  }

  /**
   * PostgreSQL: the whole file in one transaction (see the top of this file). Returns false
   * when the import was no longer `processing` once its turn came (another process ran it).
   * With `early`, the file is read while it is uploaded and the import is not recorded yet:
   * progress is reported, and the transaction committed, only once it is.
   */
  async function load(row: LoadTarget, early?: EarlyLoad): Promise<boolean> {
    const id = row.id;
    const started = performance.now();
    let waitMs = 0;
    let dbMs = 0;
    let batches = 0;
    let directBatches = 0;
    const loaded = await withRawTransaction(database, async (tx) => {
      // Imports of one creditor take turns; a dry run writes nothing and does not wait. An
      // early load does not wait either: it would hold its slot meanwhile, even abandoned.
      const turn = `quita:import:${row.creditorId}`;
      if (!row.dryRun && !early) await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [turn]);
      if (!row.dryRun && early) {
        const [got] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS ok', [turn]);
        if (!got?.ok) throw new NotNow("another import of the creditor's is loading");
      }
      if (!early) {
        const [current] = await tx.query<{ status: string }>('SELECT status FROM imports WHERE id = $1', [id]);
        if (current?.status !== 'processing') return false;
        await withRawTransaction(database, (side) => resetProgress(side, id, 'parse'));
      }
      await tx.exec(CREATE_STAGE_TABLE);
      const bytewise = await idsCompareAsBytes(tx);
      // A creditor with no debts yet (a first portfolio): no id of the file can exist, and the
      // file has none twice, so every batch goes straight in without asking. A debt written
      // meanwhile by PUT /debts under one of its ids makes the COPY fail (23505) and the
      // import start over, as it does after any batch's check.
      const [{ any = true } = {}] = await tx.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM debts WHERE creditor_id = $1) AS any', [row.creditorId]);
      const empty = !any;

      const counts = { total: 0, imported: 0, rejected: 0, lastLine: 1 };
      // Counts and rejected rows, on another connection, committed batch by batch in file
      // order (so import_errors is in line order). Progress only: a crash loses at most the
      // last few, and the import then starts over anyway, hence no wait for the WAL flush.
      const report = (values: typeof counts, errs: RowError[]) =>
        withRawTransaction(database, async (side) => {
          await side.query('SET LOCAL synchronous_commit TO off');
          if (errs.length > 0) await side.copyIn('import_errors', ERROR_COLUMNS, errs.map((e) => copyLine([id, row.creditorId, e.line, e.column, e.message])).join(''));
          await side.query('UPDATE imports SET rows_total = $2, rows_imported = $3, rows_rejected = $4, last_line = $5, heartbeat_at = $6 WHERE id = $1', [
            id,
            values.total,
            values.imported,
            values.rejected,
            values.lastLine,
            clock.now(),
          ]);
        }).then(() => hooks.onProgress?.(id));
      let reportFailed: { error: unknown } | undefined;
      // Early, nothing is reported before the import is recorded (reports queue up behind
      // that), and an abandoned load stops at its next batch.
      let recorded = !early;
      let over = false;
      let reporting: Promise<void> = early
        ? early.adopted.then((adopted) => {
            if (!adopted) throw new Abandoned();
            recorded = true;
          })
        : Promise.resolve();
      reporting = reporting.catch((error: unknown) => {
        reportFailed ??= { error };
      });

      // One batch in the database (COPY, then the merge statement) while the next is parsed.
      const store = async (batch: StageBatch): Promise<void> => {
        const t = performance.now();
        let merged: MergeResult = { imported: batch.rows, rejected: [] };
        if (batch.rows > 0) {
          // None of the batch's ids can exist (a first portfolio, or new ids in id order):
          // the rows go straight into debts. Otherwise through the staging table.
          const direct = empty || (bytewise && batch.bounded && !(await batchMayExist(tx, { creditorId: row.creditorId, lo: batch.lo, hi: batch.hi })));
          if (direct) {
            if (!row.dryRun) await tx.copyIn('debts', BATCH_COLUMNS, batch.copyData(), BINARY);
            directBatches++;
          } else {
            await tx.copyIn(STAGE_TABLE, BATCH_COLUMNS, batch.copyData(), BINARY);
            merged = await mergeStageBatch(tx, { creditorId: row.creditorId, rows: batch.rows, dryRun: row.dryRun, lineOf: (ord) => batch.lineOf(ord) });
          }
        }
        dbMs += performance.now() - t;
        counts.total += batch.events;
        counts.imported += merged.imported;
        counts.rejected += batch.rejectedRows + merged.rejected.length;
        counts.lastLine = Math.max(counts.lastLine, batch.lastLine);
        const errs = merged.rejected.length === 0 ? batch.errors : [...batch.errors, ...merged.rejected].sort((a, b) => a.line - b.line);
        const values = { ...counts };
        reporting = reporting
          .then(() => (reportFailed || over ? undefined : report(values, errs)))
          .catch((error: unknown) => {
            reportFailed ??= { error };
          });
      };

      // Three batch buffers go round: the parser fills one while the database works on
      // another and a third waits its turn (it absorbs the jitter of either side).
      const creditor = uuidBytes(row.creditorId);
      const spare = [new StageBatch(creditor), new StageBatch(creditor)];
      let filling = new StageBatch(creditor);
      let storing: Promise<void> = Promise.resolve(); // the batches go to the database one after another, in order
      const freed: Promise<void>[] = []; // resolves when a queued batch's buffer is spare again
      const dispatch = async (): Promise<void> => {
        if (reportFailed) throw reportFailed.error;
        const batch = filling;
        storing = storing.then(() => store(batch));
        storing.catch(noop); // awaited below; never an unhandled rejection meanwhile
        const free = storing.then(() => void spare.push(batch));
        free.catch(noop);
        freed.push(free);
        batches++;
        const t = performance.now();
        while (spare.length === 0) await freed.shift(); // the oldest batch in the queue; rethrows its failure
        waitMs += performance.now() - t;
        filling = spare.pop()!;
        filling.reset();
      };
      const engine = new DebtCsvParser({ today: today(clock, config.tzBusiness) });
      const drain = async (): Promise<void> => {
        for (const event of engine.take()) {
          if (event.type === 'row') filling.addRow(event.line, event.row);
          else filling.addRejected(event.line, event.errors);
          if (filling.events >= batchRows) await dispatch();
        }
      };
      try {
        for await (const chunk of early ? early.spool.chunks(EARLY_WAIT_MS) : fileChunks(fileOf(id))) {
          if (stopping) throw new Interrupted();
          engine.write(chunk);
          await drain();
        }
        engine.end();
        await drain();
        if (filling.events > 0) await dispatch();
        await storing;
        await reporting;
        if (reportFailed) throw reportFailed.error;
      } catch (err) {
        // Let what is in flight settle before the rollback (and before the caller clears the
        // errors). Before the import is recorded none can be: they all wait for that, and
        // are dropped (the import starts over from the whole file, or is abandoned).
        await storing.catch(noop);
        if (recorded) await reporting;
        else over = true;
        throw err;
      }
      return true;
    });
    if (loaded) {
      const ms = Math.round(performance.now() - started);
      // dbMs: the database working on batches (COPY + merge); waitMs: the parser idle, waiting for it.
      log.info({ importId: id, ms, batches, directBatches, dbMs: Math.round(dbMs), waitMs: Math.round(waitMs) }, 'import loaded in one transaction');
    }
    return loaded;
  }

  /** PostgreSQL: load, starting over when another transaction got in the way. */
  async function runSinglePass(row: LoadTarget, early?: EarlyLoad): Promise<void> {
    let loaded = false;
    if (early) {
      // It was given its load slot when it began.
      let failure: { error: unknown } | undefined;
      try {
        loaded = await load(row, early);
      } catch (error) {
        failure = { error };
      } finally {
        releaseLoad();
      }
      if (!(await early.adopted)) return; // abandoned: it rolled back, and nothing was recorded
      if (failure) {
        // A load that met another transaction, or could not go on (NotNow), starts over
        // from the whole file (it is all here once the import is recorded).
        const again = failure.error instanceof NotNow || retryable(failure.error);
        if (again && stopping) throw new Interrupted(); // resumed after the restart
        if (!again) throw failure.error;
        log.info({ importId: row.id, reason: failure.error instanceof NotNow ? failure.error.message : (failure.error as { code: string }).code }, 'import read while uploaded starts over');
      }
    }
    if (!loaded) {
      await acquireLoad();
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            if (!(await load(row))) return;
            break;
          } catch (err) {
            if (stopping || attempt >= LOAD_ATTEMPTS || !retryable(err)) throw err;
            log.warn({ importId: row.id, attempt, code: (err as { code: string }).code }, 'import met another transaction; starting it over');
          }
        }
      } finally {
        releaseLoad();
      }
    }
    const [done] = await db.select().from(imports).where(eq(imports.id, row.id));
    if (done) await finish(done, { status: 'completed' });
  }

  async function runTwoPhases(row: ImportRow): Promise<void> {
    const id = row.id;
    const started = performance.now();
    if (row.phase === 'upload' || row.phase === 'parse') await parse(row);
    const parsed = performance.now();
    await merge(id);
    log.info({ importId: id, parseMs: Math.round(parsed - started), mergeMs: Math.round(performance.now() - parsed) }, 'import phases done');
    const [done] = await db.select().from(imports).where(eq(imports.id, id));
    if (done) await finish(done, { status: 'completed' });
  }

  async function run(id: string): Promise<void> {
    const [row] = await db.select().from(imports).where(eq(imports.id, id));
    if (!row || row.status !== 'processing') return;
    // On PostgreSQL every attempt reads the file from the start (it is kept until the import
    // ends). An import left in the merge phase by the two-phase version finishes that way.
    const singlePass = database.kind === 'postgres' && row.phase !== 'merge';
    const fileNeeded = singlePass || row.phase === 'upload' || row.phase === 'parse';
    if (fileNeeded && !existsSync(fileOf(id))) {
      // Whatever an interrupted attempt counted was rolled back (or never merged): report none of it.
      await withRawTransaction(database, (tx) => resetProgress(tx, id, 'parse'));
      await finish(row, { status: 'failed', error: 'A importação foi interrompida antes de terminar a leitura do arquivo; nada foi alterado. Envie o arquivo de novo.' });
      return;
    }
    const beat = setInterval(() => void heartbeat(id).catch(noop), HEARTBEAT_MS);
    beat.unref();
    try {
      if (singlePass) await runSinglePass(row);
      else await runTwoPhases(row);
    } catch (err) {
      await failed(row, err);
    } finally {
      clearInterval(beat);
    }
  }

  /** An early load: once adopted, it ends as `run` would; abandoned, it leaves nothing. */
  async function runEarly(row: LoadTarget, early: EarlyLoad): Promise<void> {
    const beat = setInterval(() => void heartbeat(row.id).catch(noop), HEARTBEAT_MS); // a no-op until the import is recorded
    beat.unref();
    try {
      await runSinglePass(row, early);
    } catch (err) {
      if (await early.adopted) await failed(row, err);
    } finally {
      clearInterval(beat);
    }
  }

  /** An import that threw: a whole-file problem fails it; otherwise it stays `processing` for recovery. */
  async function failed(row: Pick<ImportRow, 'id'>, err: unknown): Promise<void> {
    const id = row.id;
    if (err instanceof CsvFileError) {
      // Nothing changed: no rows, no errors, no counts (the debts were never touched, or rolled back).
      await withRawTransaction(database, (tx) => resetProgress(tx, id, 'parse'));
      await finish(row, { status: 'failed', error: err.line ? `${err.message} (linha ${err.line})` : err.message });
      return;
    }
    if (err instanceof Interrupted) return;
    // A database fault: leave the import `processing`; recovery resumes it.
    log.error({ importId: id, err: (err as Error).message }, 'import interrupted; it will be resumed');
    throw err;
  }

  function launch(id: string): Promise<void> {
    const existing = running.get(id);
    if (existing) return existing;
    const p = run(id)
      .catch(() => {})
      .finally(() => running.delete(id));
    running.set(id, p);
    return p;
  }

  return {
    /**
     * Streams the upload to disk (memory stays flat), hashing it on the way. Given the import
     * it is for, on PostgreSQL with a load free, the import starts reading it at once; the
     * caller then must `start` or `discard` it.
     */
    async receive(source: Readable, target?: Omit<LoadTarget, 'id'>): Promise<{ id: string; sha256: string }> {
      const id = newId();
      mkdirSync(uploadDir, { recursive: true });
      const spool = new Spool(fileOf(id));
      try {
        const handle = await open(spool.file, 'w');
        const written = spoolUpload(handle, spool, source);
        if (target && database.kind === 'postgres' && !stopping && loads < PARALLEL_LOADS) beginEarly({ id, ...target }, spool);
        const sha256 = await written;
        spool.end();
        return { id, sha256 };
      } catch (err) {
        earlyLoads.get(id)?.abandon();
        spool.fail(new Abandoned());
        rmSync(fileOf(id), { force: true });
        if (err instanceof UploadTooLarge) throw tooLarge(config);
        throw err;
      }
    },

    /** Drops a received upload that will not be imported (an idempotent replay, a refused request). */
    discard(id: string): void {
      earlyLoads.get(id)?.abandon();
      rmSync(fileOf(id), { force: true });
    },

    /** Records the import of a received upload and starts it in the background. */
    async start(creditorId: string, upload: { id: string; sha256: string }, opts: { dryRun: boolean; fileName?: string }) {
      const now = clock.now();
      const [row] = await db
        .insert(imports)
        .values({ id: upload.id, creditorId, dryRun: opts.dryRun, fileName: opts.fileName ?? null, fileSha256: upload.sha256, createdAt: now, heartbeatAt: now })
        .returning();
      const early = earlyLoads.get(upload.id);
      if (early) early.adopt();
      else void launch(upload.id);
      return row!;
    },

    /** Stops starting new chunks; what runs finishes its chunk and resumes after a restart. */
    stop(): void {
      stopping = true;
    },

    /** Resumes imports whose process died (stale heartbeat), or all of them at start on an embedded database. */
    async recover(opts: { all?: boolean } = {}): Promise<number> {
      const staleBefore = new Date(clock.now().getTime() - STALE_MS);
      const claimed = await db
        .update(imports)
        .set({ heartbeatAt: clock.now() })
        .where(and(eq(imports.status, 'processing'), opts.all ? sql`true` : or(lt(imports.heartbeatAt, staleBefore), sql`${imports.heartbeatAt} IS NULL`)))
        .returning({ id: imports.id });
      for (const { id } of claimed) void launch(id);
      return claimed.length;
    },

    /** Waits for the imports running in this process (tests, shutdown). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },

    async get(creditorId: string, id: string) {
      const [row] = await db.select().from(imports).where(and(eq(imports.id, id), eq(imports.creditorId, creditorId)));
      if (!row) throw errors.notFound('Import');
      const first = await db
        .select({ line: importErrors.line, column: importErrors.column, message: importErrors.message })
        .from(importErrors)
        .where(eq(importErrors.importId, id))
        .orderBy(importErrors.line, importErrors.id)
        .limit(FIRST_ERRORS);
      return { ...toImportSummary(row), errors: first };
    },

    async list(creditorId: string, q: { limit: number; cursor?: string }) {
      const cursor = decodeCursor(q.cursor);
      const rows = await db
        .select()
        .from(imports)
        .where(and(eq(imports.creditorId, creditorId), cursor ? sql`(${imports.createdAt}, ${imports.id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined))
        .orderBy(desc(imports.createdAt), desc(imports.id))
        .limit(q.limit + 1);
      return page(rows, q.limit, toImportSummary);
    },

    /** Every rejected row, as `;`-separated UTF-8 with BOM, streamed in pages. */
    async *errorsCsv(creditorId: string, id: string): AsyncGenerator<string> {
      const [row] = await db.select({ id: imports.id }).from(imports).where(and(eq(imports.id, id), eq(imports.creditorId, creditorId)));
      if (!row) throw errors.notFound('Import');
      yield '\ufeffline;column;message\r\n';
      // In line order, like the JSON (on PGlite, rows rejected while merging are written after
      // every row rejected while reading).
      let after = { line: 0, id: 0 };
      for (;;) {
        const rows = await db
          .select()
          .from(importErrors)
          .where(and(eq(importErrors.importId, id), sql`(${importErrors.line}, ${importErrors.id}) > (${after.line}, ${after.id})`))
          .orderBy(importErrors.line, importErrors.id)
          .limit(5000);
        if (rows.length === 0) return;
        let out = '';
        for (const r of rows) out += `${r.line};${csvCell(r.column ?? '')};${csvCell(r.message)}\r\n`;
        yield out;
        const last = rows[rows.length - 1]!;
        after = { line: last.line, id: last.id };
      }
    },
  };
}

function csvCell(value: string): string {
  return /[;"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export type ImportService = ReturnType<typeof createImportService>;
