// Two real worker processes (`src/worker.ts`) racing over the same due agreements on
// PostgreSQL: every transition and every event happens exactly once.
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementDebts, agreements, debts, offers, parcels, portalSessions } from '../../src/db/schema/index.js';
import { addDays } from '../../src/lib/dates.js';
import { defaultPolicy } from '../../src/modules/negotiation/policy.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, usingPostgres } from '../helpers/db.js';
import { login, newCpf, TODAY } from '../helpers/portal.js';
import { spawnQuita, stopAll, stopProcess, until } from '../helpers/processes.js';
import { seedCreditor } from '../helpers/seed.js';
import { createLink, insertDebts } from './portal-helpers.js';

let t: TestApp;
let databaseUrl: string;
const startWorker = (name: string) => spawnQuita('worker', name, { NODE_ENV: 'test', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });

/**
 * `n` agreements of one debtor written straight to the tables, half of them pending with
 * parcel 1 due today (they will expire), half active with parcel 1 paid and parcel 2 due
 * 35 days ago (they will break; parcel 3, due in a week, is announced first).
 */
async function seedDueAgreements(n: number): Promise<{ pending: string[]; active: string[] }> {
  const creditor = await seedCreditor(t);
  const cpf = newCpf();
  const debtRows = await insertDebts(t, creditor.creditorId, cpf, Array.from({ length: n }, () => ({ amountCents: 90_000 })));
  const link = await createLink(t, creditor, cpf);
  await login(t, { creditor, cpf, debts: debtRows, link });
  const [session] = await t.database.db.select({ id: portalSessions.id }).from(portalSessions).where(eq(portalSessions.linkId, link.id));
  const pending: string[] = [];
  const active: string[] = [];
  const now = t.clock.now();
  await t.database.db.transaction(async (tx) => {
    for (const [i, debt] of debtRows.entries()) {
      const isActive = i % 2 === 1;
      const first = isActive ? addDays(TODAY, -66) : TODAY;
      const offerId = crypto.randomUUID();
      const id = crypto.randomUUID();
      await tx.insert(offers).values({
        id: offerId, creditorId: creditor.creditorId, cpf, sessionId: session!.id, linkId: link.id, debtIds: [debt.id], policyVersion: 0,
        asOf: first, firstDueDate: first, kind: 'installments', installments: 3, terms: {}, termsHash: 'seed', expiresAt: now,
      });
      await tx.insert(agreements).values({
        id, creditorId: creditor.creditorId, cpf, linkId: link.id, offerId, status: isActive ? 'active' : 'pending', totalCents: 90_000, discountCents: 0,
        installments: 3, installmentMonthlyRatePct: 1, effectiveMonthlyRatePct: 1, effectiveAnnualRatePct: 12.68, policyVersion: 0, policy: defaultPolicy(),
        paidCents: isActive ? 30_000 : 0, acceptedAt: now, consentIp: '127.0.0.1', consentUserAgent: 'test', termsHash: 'seed',
      });
      await tx.insert(agreementDebts).values({ agreementId: id, creditorId: creditor.creditorId, debtId: debt.id, externalId: debt.externalId, description: null, dueDate: TODAY, principalCents: 90_000, balanceCents: 90_000 });
      const dues = isActive ? [first, addDays(TODAY, -35), addDays(TODAY, 7)] : [first, addDays(TODAY, 30), addDays(TODAY, 61)];
      await tx.insert(parcels).values(
        dues.map((due, k) => ({
          agreementId: id, creditorId: creditor.creditorId, number: k + 1, dueDate: due, amountCents: 30_000,
          status: isActive && k === 0 ? ('paid' as const) : ('pending' as const), paidAt: isActive && k === 0 ? now : null,
        })),
      );
      (isActive ? active : pending).push(id);
    }
    await tx.update(debts).set({ status: 'in_agreement' }).where(inArray(debts.id, debtRows.map((d) => d.id)));
  });
  return { pending, active };
}

describe.skipIf(!usingPostgres)('the lifecycle job in two worker processes on PostgreSQL', () => {
  beforeAll(async () => {
    const database = await createTestDatabase();
    databaseUrl = database.url!;
    t = await buildTestApp({ database });
  });

  afterAll(async () => {
    await stopAll();
    await t?.close();
  });

  it('expires and breaks 100 due agreements, each transition and event exactly once', async () => {
    const { pending, active } = await seedDueAgreements(100);
    const all = [...pending, ...active];
    // Five days later, on the clock every worker reads from the database.
    const moved = await t.request.post('/api/v1/admin/clock').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ now: `${addDays(TODAY, 5)}T12:00:00-03:00` });
    expect(moved.status).toBe(200);

    const a = startWorker('lifecycle-worker-a');
    const b = startWorker('lifecycle-worker-b');
    let live = all.length;
    const settled = async () => {
      const [row] = await t.database.db.select({ n: sql<number>`count(*)::int` }).from(agreements).where(sql`${agreements.id} IN ${all} AND ${agreements.status} IN ('pending', 'active')`);
      live = row!.n;
      return live === 0;
    };
    await until(settled, 90_000, 'every agreement to expire or break', 200).catch((error: Error) => {
      throw new Error(`${error.message}: ${live} still live\n${a.output()}\n${b.output()}`);
    });
    // Let any straggling round finish before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all([stopProcess(a), stopProcess(b)]);

    const statuses = await t.database.db.select({ id: agreements.id, status: agreements.status }).from(agreements).where(inArray(agreements.id, all));
    const statusOf = new Map(statuses.map((s) => [s.id, s.status]));
    expect(pending.every((id) => statusOf.get(id) === 'expired')).toBe(true);
    expect(active.every((id) => statusOf.get(id) === 'broken')).toBe(true);

    const counted = await t.database.db.execute(sql`
      SELECT coalesce(data->>'agreement_id', data->>'id') AS agreement_id, type, data->'parcel'->>'number' AS parcel, count(*)::int AS n
      FROM webhook_events WHERE coalesce(data->>'agreement_id', data->>'id') IN ${all}
      GROUP BY 1, 2, 3`);
    const rows = (counted as unknown as { rows: { agreement_id: string; type: string; parcel: string | null; n: number }[] }).rows;
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    const perAgreement = new Map<string, string[]>();
    for (const r of rows) perAgreement.set(r.agreement_id, [...(perAgreement.get(r.agreement_id) ?? []), `${r.type}${r.parcel ? `#${r.parcel}` : ''}`]);
    for (const id of pending) expect(perAgreement.get(id)!.sort()).toEqual(['agreement.expired', 'parcel.overdue#1']);
    for (const id of active) expect(perAgreement.get(id)!.sort()).toEqual(['agreement.broken', 'parcel.due_soon#3', 'parcel.overdue#2']);

    // the broken ones credited what was paid, once
    const credited = await t.database.db.select({ credited: debts.creditedCents, status: debts.status }).from(debts).innerJoin(agreementDebts, eq(agreementDebts.debtId, debts.id)).where(inArray(agreementDebts.agreementId, active));
    expect(credited.every((d) => d.credited === 30_000 && d.status === 'open')).toBe(true);
  }, 150_000);
});
