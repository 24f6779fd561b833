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
  /**
   * Several `;`-separated statements in one round trip (simple protocol: no parameters, so
   * every value in `text` must be a literal the caller has checked); the rows of each.
   */
  exec(text: string): Promise<Record<string, unknown>[][]>;
  /**
   * `COPY table (cols) FROM STDIN` with PostgreSQL text-format data (a string, or its UTF-8
   * bytes), or with `{ format: 'binary' }` binary-format data (BinaryCopyWriter's).
   */
  copyIn(table: string, columns: readonly string[], data: string | Uint8Array, options?: CopyOptions): Promise<void>;
}

export interface CopyOptions {
  /** The data's COPY format; text unless said. */
  format?: 'text' | 'binary';
}

function copySql(table: string, columns: readonly string[], source: string, options?: CopyOptions): string {
  const sql = `COPY ${table} (${columns.map((c) => `"${c}"`).join(', ')}) FROM ${source}`;
  return options?.format === 'binary' ? `${sql} WITH (FORMAT binary)` : sql;
}

function pgTx(client: pg.PoolClient): RawTx {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await client.query(text, params);
      return result.rows as T[];
    },
    async exec(text) {
      // Without values node-postgres uses the simple protocol, which takes several statements.
      const result = (await client.query(text)) as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(result) ? result : [result]).map((r) => r.rows as Record<string, unknown>[]);
    },
    async copyIn(table, columns, data, options) {
      if (data.length === 0) return;
      const stream = client.query(copyFrom(copySql(table, columns, 'STDIN', options)));
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
    async exec(text) {
      const results = await tx.exec(text);
      return results.map((r) => r.rows as Record<string, unknown>[]);
    },
    async copyIn(table, columns, data, options) {
      if (data.length === 0) return;
      await tx.query(copySql(table, columns, `'/dev/blob'`, options), [], { blob: new Blob([data]) });
    },
  };
}

export async function withRawTransaction<T>(database: Database, fn: (tx: RawTx) => Promise<T>): Promise<T> {
  if (database.pglite) return database.pglite.transaction((tx) => fn(pgliteTx(tx)));
  const client = await database.pool!.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(pgTx(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection that cannot even roll back (it died mid-COPY) is not given back to the pool.
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw err;
  } finally {
    client.release(broken);
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
