// Helpers for the portfolio HTTP tests: every debt of a creditor through the API, debts
// moved to another state straight in the database, errors.csv as bytes, fixture CPFs.
import { and, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { debts, type DebtStatus } from '../../src/db/schema/index.js';
import { cpfFrom } from '../fixtures/csv/support.js';
import type { TestApp } from './app.js';

export type Auth = Record<string, string>;

export interface DebtBody {
  external_id: string;
  cpf: string;
  name: string;
  email: string | null;
  phone: string | null;
  amount_cents: number;
  credited_cents: number;
  due_date: string;
  description: string | null;
  status: DebtStatus;
  withdrawn_reason: 'withdrawn' | 'paid_elsewhere' | null;
  balance_cents: number;
}

/** Every debt of the caller, following next_cursor (newest first). */
export async function allDebts(t: TestApp, auth: Auth, query = ''): Promise<DebtBody[]> {
  const out: DebtBody[] = [];
  let cursor: string | null = null;
  for (;;) {
    const url: string = `/api/v1/debts?limit=500${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await t.request.get(url).set(auth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...(res.body.data as DebtBody[]));
    cursor = res.body.next_cursor as string | null;
    if (!cursor) return out;
  }
}

/** The caller's debts by external_id. */
export async function debtMap(t: TestApp, auth: Auth): Promise<Map<string, DebtBody>> {
  return new Map((await allDebts(t, auth)).map((d) => [d.external_id, d]));
}

/** The stored row of one debt, straight from the database. */
export async function debtRow(t: TestApp, creditorId: string, externalId: string) {
  const [row] = await t.database.db.select().from(debts).where(and(eq(debts.creditorId, creditorId), eq(debts.externalId, externalId)));
  return row;
}

/** Sets columns of one debt straight in the database (as an agreement or a payment would). */
export async function setDebt(t: TestApp, creditorId: string, externalId: string, values: Partial<typeof debts.$inferInsert>): Promise<void> {
  const updated = await t.database.db
    .update(debts)
    .set(values)
    .where(and(eq(debts.creditorId, creditorId), eq(debts.externalId, externalId)))
    .returning({ id: debts.id });
  expect(updated).toHaveLength(1);
}

/** GET errors.csv of an import, as raw bytes. */
export async function errorsCsv(t: TestApp, auth: Auth, importId: string): Promise<{ status: number; body: Buffer; type: string | undefined }> {
  const res = await t.request
    .get(`/api/v1/imports/${importId}/errors.csv`)
    .set(auth)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  return { status: res.status, body: res.body as Buffer, type: res.headers['content-type'] as string | undefined };
}

/** The CPF make-fixtures.ts writes for index `i`. */
export const fixtureCpf = (i: number): string => cpfFrom(String(123_456_700 + i * 13));
