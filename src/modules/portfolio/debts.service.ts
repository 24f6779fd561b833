// Debts as the creditor API sees them: the JSON batch, lists, one debt, withdrawal.
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { copyLine, withRawTransaction } from '../../db/raw.js';
import { debts, type DebtStatus } from '../../db/schema/index.js';
import { today, type Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { balanceCalculator, type DebtBreakdown, type DebtInput } from '../negotiation/offers.js';
import { createPolicyService } from '../negotiation/policy.service.js';
import { checkJsonBatch } from './debt-row.js';
import { mergeStagedRows, STAGE_COLUMNS } from './portfolio.merge.js';

export type DebtRecord = typeof debts.$inferSelect;

/** A debt as the API shows it; `balanceOf` prices it (one calculator per request: see balanceCalculator). */
export function toDebtJson(row: DebtRecord, balanceOf: (debt: DebtInput) => DebtBreakdown) {
  const live = row.status === 'open' || row.status === 'in_agreement';
  return {
    external_id: row.externalId,
    cpf: row.cpf,
    name: row.name,
    email: row.email,
    phone: row.phone,
    amount_cents: row.amountCents,
    credited_cents: row.creditedCents,
    due_date: row.dueDate,
    description: row.description,
    status: row.status,
    withdrawn_reason: row.withdrawnReason,
    balance_cents: live ? balanceOf({ amount_cents: row.amountCents, credited_cents: row.creditedCents, due_date: row.dueDate }).balance_cents : 0,
  };
}

function encodeIdCursor(id: number): string {
  return Buffer.from(`d:${id}`).toString('base64url');
}

function decodeIdCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^d:(\d{1,16})$/.exec(text);
  if (!match) throw errors.unprocessable('The cursor is not one this API handed out.', [{ path: 'cursor', message: 'invalid cursor' }]);
  return Number(match[1]);
}

export function createDebtService(deps: { database: Database; clock: Clock; config: Config }) {
  const { database, clock, config } = deps;
  const db = database.db;
  const policies = createPolicyService({ db });
  const asOf = () => today(clock, config.tzBusiness);

  return {
    /** PUT /api/v1/debts: the CSV's rules, each item alone; good items kept, bad ones reported. */
    async upsertBatch(creditorId: string, items: unknown[]) {
      const checks = checkJsonBatch(items, asOf());
      const errorsOut: { index: number; path: string; message: string }[] = [];
      let data = '';
      const batchId = newId();
      checks.forEach((check, index) => {
        if (check.ok) {
          const r = check.row;
          data += copyLine([batchId, index + 1, r.external_id, r.cpf, r.name, r.email, r.phone, r.amount_cents, r.due_date, r.description]);
        } else {
          for (const e of check.errors) errorsOut.push({ index, path: e.path ? `debts.${index}.${e.path}` : `debts.${index}`, message: e.message });
        }
      });
      let imported = 0;
      if (data) {
        const merged = await withRawTransaction(database, async (tx) => {
          await tx.copyIn('import_rows', STAGE_COLUMNS, data);
          return mergeStagedRows(tx, { importId: batchId, creditorId, fromLine: 0, toLine: items.length, dryRun: false });
        });
        imported = merged.imported;
        for (const r of merged.rejected) {
          const index = r.line - 1;
          const path = r.column === 'amount' ? 'amount_cents' : r.column;
          errorsOut.push({ index, path: `debts.${index}.${path}`, message: r.message });
        }
      }
      errorsOut.sort((a, b) => a.index - b.index);
      const rejectedItems = new Set(errorsOut.map((e) => e.index)).size;
      return { imported, rejected: rejectedItems, errors: errorsOut };
    },

    async list(creditorId: string, q: { limit: number; cursor?: string; status?: DebtStatus; cpf?: string }) {
      const before = decodeIdCursor(q.cursor);
      const rows = await db
        .select()
        .from(debts)
        .where(
          and(
            eq(debts.creditorId, creditorId),
            q.status ? eq(debts.status, q.status) : undefined,
            q.cpf ? eq(debts.cpf, q.cpf) : undefined,
            before !== undefined ? lt(debts.id, before) : undefined,
          ),
        )
        .orderBy(desc(debts.id))
        .limit(q.limit + 1);
      const { policy } = await policies.current(creditorId);
      const date = asOf();
      const more = rows.length > q.limit;
      const shown = more ? rows.slice(0, q.limit) : rows;
      const balanceOf = balanceCalculator(policy, date);
      return { data: shown.map((r) => toDebtJson(r, balanceOf)), next_cursor: more ? encodeIdCursor(shown[shown.length - 1]!.id) : null };
    },

    async get(creditorId: string, externalId: string) {
      const [row] = await db.select().from(debts).where(and(eq(debts.creditorId, creditorId), eq(debts.externalId, externalId)));
      if (!row) throw errors.notFound('Debt');
      const { policy } = await policies.current(creditorId);
      return toDebtJson(row, balanceCalculator(policy, asOf()));
    },

    /** Withdraws a debt; refused while it is in a live agreement or already paid. */
    async withdraw(creditorId: string, externalId: string, reason: 'withdrawn' | 'paid_elsewhere') {
      const row = await db.transaction(async (tx) => {
        const [current] = await tx.select().from(debts).where(and(eq(debts.creditorId, creditorId), eq(debts.externalId, externalId))).for('update');
        if (!current) throw errors.notFound('Debt');
        if (current.status === 'in_agreement') throw errors.conflict('The debt is in a pending or active agreement; it cannot be withdrawn now.', 'debt_in_agreement');
        if (current.status === 'settled') throw errors.conflict('The debt is settled; there is nothing to withdraw.', 'debt_settled');
        if (current.status === 'withdrawn') return current;
        const [updated] = await tx
          .update(debts)
          .set({ status: 'withdrawn', withdrawnReason: reason, updatedAt: sql`now()` })
          .where(and(eq(debts.creditorId, creditorId), eq(debts.id, current.id)))
          .returning();
        return updated!;
      });
      const { policy } = await policies.current(creditorId);
      return toDebtJson(row, balanceCalculator(policy, asOf()));
    },
  };
}
