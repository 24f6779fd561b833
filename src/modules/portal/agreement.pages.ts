// The agreement page and its printable receipt (CONTRACT §6.5).
import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { agreementDebts, agreements, offers, parcels } from '../../db/schema/index.js';
import { calendarDateAt, formatDateBR } from '../../lib/dates.js';
import { formatBRL } from '../../lib/money.js';
import { isUnpaid, nextUnpaidParcel, type AgreementRow, type ParcelRow } from '../agreements/agreements.mapper.js';
import type { Policy } from '../negotiation/policy.js';
import { paymentProgressLines } from '../payments/payments.view.js';
import type { OfferTerms } from './offers.service.js';
import { formatInstantBR, formatPct } from './format.js';
import { renderPortalPage } from './portal.plugin.js';
import type { PortalSession } from './session.js';
import { AGREEMENT_STATUS_TEXT, PARCEL_STATUS_TEXT, creditorView, debtorView, offerView } from './view-models.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OwnAgreement {
  agreement: AgreementRow;
  parcels: ParcelRow[];
  debts: (typeof agreementDebts.$inferSelect)[];
}

/**
 * The agreement `id` if it belongs to the session's debtor and creditor; undefined
 * otherwise (the page then answers 404). For the payments pages too.
 */
export async function loadOwnAgreement(app: FastifyInstance, session: PortalSession, id: string): Promise<OwnAgreement | undefined> {
  if (!UUID.test(id)) return undefined;
  const db = app.deps.database.db;
  const [agreement] = await db
    .select()
    .from(agreements)
    .where(and(eq(agreements.id, id.toLowerCase()), eq(agreements.creditorId, session.creditorId), eq(agreements.cpf, session.cpf)));
  if (!agreement) return undefined;
  const [parcelRows, debtRows] = await Promise.all([
    db.select().from(parcels).where(eq(parcels.agreementId, agreement.id)).orderBy(asc(parcels.number)),
    db.select().from(agreementDebts).where(eq(agreementDebts.agreementId, agreement.id)).orderBy(asc(agreementDebts.debtId)),
  ]);
  return { agreement, parcels: parcelRows, debts: debtRows };
}

export async function agreementPages(app: FastifyInstance): Promise<void> {
  const { database, config, clock } = app.deps;
  const db = database.db;
  const tz = config.tzBusiness;

  const notFound = (reply: FastifyReply) => renderPortalPage(reply.code(404), 'error', { status: 404 });
  const own = (request: FastifyRequest<{ Params: { id: string } }>) => loadOwnAgreement(app, request.portalSession!, request.params.id);

  app.get<{ Params: { id: string } }>('/acordos/:id', { preHandler: [app.requirePortalSession] }, async (request, reply) => {
    const found = await own(request);
    if (!found) return notFound(reply);
    const { agreement: a, parcels: ps, debts } = found;
    const live = a.status === 'pending' || a.status === 'active';
    const next = live ? nextUnpaidParcel(ps) : undefined;
    const firstPaid = ps.find((p) => p.number === 1)?.status === 'paid';
    return renderPortalPage(reply, 'portal/agreement', {
      title: 'Seu acordo',
      id: a.id,
      creditor: creditorView(request.portalSession!.creditor),
      debtor: debtorView(a.cpf),
      status: AGREEMENT_STATUS_TEXT[a.status],
      completed: a.status === 'completed',
      creditorInformed: firstPaid && a.status !== 'completed',
      total: formatBRL(a.totalCents),
      paid: formatBRL(a.paidCents),
      acceptedAt: formatInstantBR(a.acceptedAt, tz),
      debts: debts.map((d) => ({ description: d.description ?? `Dívida ${d.externalId}`, externalId: d.externalId })),
      parcels: ps.map((p) => ({
        number: p.number,
        dueDate: formatDateBR(p.dueDate),
        amount: formatBRL(p.amountCents),
        status: PARCEL_STATUS_TEXT[p.status],
        paidAt: p.paidAt ? formatDateBR(calendarDateAt(p.paidAt, tz)) : null,
        isNext: next?.number === p.number,
      })),
      pay: next && next.status !== 'processing' ? { number: next.number, amount: formatBRL(next.amountCents), dueDate: formatDateBR(next.dueDate) } : null,
      processing: next?.status === 'processing',
      inProgress: live ? await paymentProgressLines(db, a.id, clock.now(), tz) : [],
      payoff: live && ps.some(isUnpaid) && !ps.some((p) => p.status === 'processing'),
    });
  });

  app.get<{ Params: { id: string } }>('/acordos/:id/comprovante', { preHandler: [app.requirePortalSession] }, async (request, reply) => {
    const found = await own(request);
    if (!found) return notFound(reply);
    const a = found.agreement;
    const [offer] = await db.select({ terms: offers.terms }).from(offers).where(eq(offers.id, a.offerId));
    const terms = (typeof offer!.terms === 'string' ? JSON.parse(offer!.terms) : offer!.terms) as OfferTerms;
    const policy = a.policy as Policy;
    return renderPortalPage(reply, 'portal/receipt', {
      title: 'Comprovante do acordo',
      id: a.id,
      creditor: creditorView(terms.creditor),
      debtor: debtorView(a.cpf),
      status: AGREEMENT_STATUS_TEXT[a.status],
      debts: terms.debts.map((d) => ({ description: d.description ?? `Dívida ${d.external_id}`, externalId: d.external_id, dueDate: formatDateBR(d.due_date), balance: formatBRL(d.balance_cents) })),
      asOf: formatDateBR(terms.as_of),
      offer: offerView(terms.offer, terms.balance_cents),
      late: { fine: formatPct(policy.late_fine_pct), interest: formatPct(policy.monthly_interest_pct), breakAfterDays: policy.break_after_days },
      policyVersion: a.policyVersion,
      acceptedAt: formatInstantBR(a.acceptedAt, tz),
      acceptedAtIso: a.acceptedAt.toISOString(),
      tzLabel: tz === 'America/Sao_Paulo' ? 'horário de Brasília' : tz,
      consentIp: a.consentIp,
      termsHash: a.termsHash,
    });
  });
}
