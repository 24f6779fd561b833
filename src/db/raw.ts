// Raw SQL and COPY inside one transaction, on either driver. Intake uses it: COPY is
// what makes a million rows fast, and drizzle does not speak COPY.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from './client.js';

export interface RawTx {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** `COPY table (cols) FROM STDIN` with PostgreSQL text-format data. */
  copyIn(table: string, columns: readonly string[], data: string): Promise<void>;
}

function copySql(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.map((c) => `"${c}"`).join(', ')}) FROM ${source}`;
}

function pgTx(client: pg.PoolClient): RawTx {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await client.query(text, params);
      return result.rows as T[];
    },
    async copyIn(table, columns, data) {
      if (data.length === 0) return;
      const stream = client.query(copyFrom(copySql(table, columns, 'STDIN')));
      await pipeline(Readable.from([data]), stream);
    },
  };
}

function pgliteTx(tx: Transaction): RawTx {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await tx.query<T>(text, params);
      return result.rows;
    },
    async copyIn(table, columns, data) {
      if (data.length === 0) return;
      await tx.query(copySql(table, columns, `'/dev/blob'`), [], { blob: new Blob([data]) });
    },
  };
}

export async function withRawTransaction<T>(database: Database, fn: (tx: RawTx) => Promise<T>): Promise<T> {
  if (database.pglite) return database.pglite.transaction((tx) => fn(pgliteTx(tx)));
  const client = await database.pool!.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(pgTx(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** One value in COPY text format: `\N` for null; backslash, tab, newline and CR escaped. */
export function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyLine(values: readonly (string | number | null | undefined)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyValue(values[i]);
  }
  return line + '\n';
}
