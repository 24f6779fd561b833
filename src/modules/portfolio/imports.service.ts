// Imports run in the background, in two phases (see src/db/schema/imports.ts): the upload
// is spooled to disk, `parse` streams it through the CSV reader into import_rows and
// import_errors by COPY in short transactions, and only once the whole file has been read
// does `merge` upsert the rows into debts, chunk by chunk, recording its progress.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { copyLine, withRawTransaction } from '../../db/raw.js';
import { importErrors, imports } from '../../db/schema/index.js';
import { today, type Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { decodeCursor, page } from '../../lib/pagination.js';
import { CsvFileError, readDebtCsvBatches } from './csv-reader.js';
import { mergeStagedRows, STAGE_COLUMNS } from './portfolio.merge.js';

export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const CHUNK_ROWS = 5000;
const MERGE_LINES = 5000;
const FIRST_ERRORS = 1000;
const STALE_MS = 60_000;

export type ImportRow = typeof imports.$inferSelect;

export interface ImportHooks {
  /** Called in the transaction that finishes a (non-dry-run) import: the outbox writes `import.completed` there. */
  onFinished?: (tx: import('../../db/client.js').Executor, summary: ReturnType<typeof toImportSummary>, creditorId: string) => Promise<void>;
}

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
/** The process is shutting down: the import stays `processing` and is resumed later. */
class Interrupted extends Error {}

export function createImportService(deps: { database: Database; clock: Clock; config: Config; log: FastifyBaseLogger; hooks?: ImportHooks }) {
  const { database, clock, config, log, hooks = {} } = deps;
  const db = database.db;
  const uploadDir = path.join(config.dataDir, 'uploads');
  const running = new Map<string, Promise<void>>();
  let stopping = false;
  const fileOf = (id: string) => path.join(uploadDir, `${id}.csv`);

  async function spool(id: string, source: Readable): Promise<string> {
    mkdirSync(uploadDir, { recursive: true });
    const hash = createHash('sha256');
    let bytes = 0;
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          if (bytes > MAX_UPLOAD_BYTES) throw new UploadTooLarge();
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(fileOf(id)),
    );
    return hash.digest('hex');
  }

  async function heartbeat(id: string, values: Partial<typeof imports.$inferInsert> = {}) {
    await db.update(imports).set({ ...values, heartbeatAt: clock.now() }).where(eq(imports.id, id));
  }

  async function finish(row: ImportRow, values: { status: 'completed' | 'failed'; error?: string }) {
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

  /** Phase 1: the file into import_rows and import_errors. Throws CsvFileError for a whole-file problem. */
  async function parse(row: ImportRow): Promise<void> {
    await withRawTransaction(database, async (tx) => {
      await tx.query('DELETE FROM import_rows WHERE import_id = $1', [row.id]);
      await tx.query('DELETE FROM import_errors WHERE import_id = $1', [row.id]);
      await tx.query(`UPDATE imports SET phase = 'parse', rows_total = 0, rows_imported = 0, rows_rejected = 0, last_line = 1, merged_through_line = 1 WHERE id = $1`, [row.id]);
    });
    const batches = readDebtCsvBatches(createReadStream(fileOf(row.id), { highWaterMark: 256 * 1024 }), {
      today: today(clock, config.tzBusiness),
      batchSize: CHUNK_ROWS,
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
        await tx.copyIn('import_errors', ['import_id', 'creditor_id', 'line', 'column', 'message'], errs);
        await tx.query('UPDATE imports SET rows_total = $2, rows_rejected = $3, last_line = $4, heartbeat_at = $5 WHERE id = $1', [row.id, total, rejected, lastLine, clock.now()]);
      });
      // Let the portal answer between chunks (PGlite has one connection).
      await new Promise((resolve) => setImmediate(resolve));
    }
    await heartbeat(row.id, { phase: 'merge', lastLine, rowsTotal: total, rowsRejected: rejected });
  }

  /** Phase 2: import_rows into debts, by line range, resumable. */
  async function merge(id: string): Promise<void> {
    for (;;) {
      if (stopping) throw new Interrupted();
      const [current] = await db.select().from(imports).where(eq(imports.id, id));
      if (!current || current.status !== 'processing') return;
      if (current.mergedThroughLine >= current.lastLine) return;
      const from = current.mergedThroughLine;
      const to = Math.min(current.lastLine, from + MERGE_LINES);
      await withRawTransaction(database, async (tx) => {
        const result = await mergeStagedRows(tx, { importId: id, creditorId: current.creditorId, fromLine: from, toLine: to, dryRun: current.dryRun });
        let errs = '';
        for (const r of result.rejected) errs += copyLine([id, current.creditorId, r.line, r.column, r.message]);
        await tx.copyIn('import_errors', ['import_id', 'creditor_id', 'line', 'column', 'message'], errs);
        await tx.query(
          'UPDATE imports SET merged_through_line = $2, rows_imported = rows_imported + $3, rows_rejected = rows_rejected + $4, heartbeat_at = $5 WHERE id = $1',
          [id, to, result.imported, result.rejected.length, clock.now()],
        );
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function run(id: string): Promise<void> {
    const [row] = await db.select().from(imports).where(eq(imports.id, id));
    if (!row || row.status !== 'processing') return;
    try {
      const started = performance.now();
      if (row.phase === 'upload' || row.phase === 'parse') {
        if (!existsSync(fileOf(id))) {
          await finish(row, { status: 'failed', error: 'A importação foi interrompida antes de terminar a leitura do arquivo; nada foi alterado. Envie o arquivo de novo.' });
          return;
        }
        await parse(row);
      }
      const parsed = performance.now();
      await merge(id);
      log.info({ importId: id, parseMs: Math.round(parsed - started), mergeMs: Math.round(performance.now() - parsed) }, 'import phases done');
      const [done] = await db.select().from(imports).where(eq(imports.id, id));
      if (done) await finish(done, { status: 'completed' });
    } catch (err) {
      if (err instanceof CsvFileError) {
        await withRawTransaction(database, async (tx) => {
          await tx.query('DELETE FROM import_rows WHERE import_id = $1', [id]);
          await tx.query('DELETE FROM import_errors WHERE import_id = $1', [id]);
          await tx.query('UPDATE imports SET rows_imported = 0, rows_rejected = 0 WHERE id = $1', [id]);
        });
        await finish(row, { status: 'failed', error: err.line ? `${err.message} (linha ${err.line})` : err.message });
        return;
      }
      if (err instanceof Interrupted) return;
      // A database fault: leave the import `processing`; recovery resumes it.
      log.error({ importId: id, err: (err as Error).message }, 'import interrupted; it will be resumed');
      throw err;
    }
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
    /** Streams the upload to disk (memory stays flat), hashing it on the way. */
    async receive(source: Readable): Promise<{ id: string; sha256: string }> {
      const id = newId();
      try {
        return { id, sha256: await spool(id, source) };
      } catch (err) {
        rmSync(fileOf(id), { force: true });
        if (err instanceof UploadTooLarge) throw errors.payloadTooLarge(`The file is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB; split it.`);
        throw err;
      }
    },

    /** Drops a received upload that will not be imported (an idempotent replay). */
    discard(id: string): void {
      rmSync(fileOf(id), { force: true });
    },

    /** Records the import of a received upload and starts it in the background. */
    async start(creditorId: string, upload: { id: string; sha256: string }, opts: { dryRun: boolean; fileName?: string }) {
      const now = clock.now();
      const [row] = await db
        .insert(imports)
        .values({ id: upload.id, creditorId, dryRun: opts.dryRun, fileName: opts.fileName ?? null, fileSha256: upload.sha256, createdAt: now, heartbeatAt: now })
        .returning();
      void launch(upload.id);
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
      let after = 0;
      for (;;) {
        const rows = await db
          .select()
          .from(importErrors)
          .where(and(eq(importErrors.importId, id), sql`${importErrors.id} > ${after}`))
          .orderBy(importErrors.id)
          .limit(5000);
        if (rows.length === 0) return;
        let out = '';
        for (const r of rows) out += `${r.line};${csvCell(r.column ?? '')};${csvCell(r.message)}\r\n`;
        yield out;
        after = rows[rows.length - 1]!.id;
      }
    },
  };
}

function csvCell(value: string): string {
  return /[;"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export type ImportService = ReturnType<typeof createImportService>;
