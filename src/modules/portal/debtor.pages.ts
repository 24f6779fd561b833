// The logged-in debtor's way from debts to a confirmed agreement (CONTRACT §6.2–6.4).
import { eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { agreements } from '../../db/schema/index.js';
import { addDays, calendarDateAt, formatDateBR, parseIsoDate, type CalendarDate } from '../../lib/dates.js';
import { formatBRL } from '../../lib/money.js';
import { createAgreement } from '../agreements/agreements.service.js';
import { balanceCalculator } from '../negotiation/offers.js';
import { createPolicyService } from '../negotiation/policy.service.js';
import { notifyOutbox } from '../webhooks/webhooks.events.js';
import { buildOffers, checkOffer, openDebts, prescriptionCutoff, storeOffers, type OfferRow, type OfferTerms } from './offers.service.js';
import { renderPortalPage, seeOther } from './portal.plugin.js';
import { createSessionRepository, type PortalSession } from './session.js';
import { AGREEMENT_STATUS_TEXT, creditorView, debtorView, offerView } from './view-models.js';
import { formatInstantBR, formatPct } from './format.js';

type Query = Record<string, string | string[] | undefined>;
type FormBody = Record<string, unknown> | undefined;

const MAX_DEBTS_PER_OFFER = 500;

const NOTICES = {
  tampered: {
    title: 'Esta oferta não pôde ser usada',
    text: 'A oferta escolhida não corresponde a nenhuma oferta mostrada nesta sessão, ou foi alterada. Por segurança, nada foi registrado. Veja abaixo as ofertas atualizadas.',
  },
  expired: {
    title: 'Esta oferta expirou',
    text: 'Cada oferta vale pelo prazo informado quando ela foi mostrada, e esse prazo terminou. Nada foi registrado. Veja abaixo as ofertas de hoje.',
  },
  unavailable: {
    title: 'Estas dívidas não estão mais disponíveis para acordo',
    text: 'Uma ou mais dívidas desta oferta já fazem parte de outro acordo ou não estão mais em aberto. Nada foi registrado.',
  },
} as const;
type NoticeKind = keyof typeof NOTICES;

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function debtIdsFrom(values: string[]): number[] {
  const ids = new Set<number>();
  for (const v of values) {
    if (/^\d{1,15}$/.test(v)) ids.add(Number(v));
    if (ids.size >= MAX_DEBTS_PER_OFFER) break;
  }
  return [...ids];
}

function field(body: FormBody, name: string): string | undefined {
  const v = body?.[name];
  return typeof v === 'string' ? v : undefined;
}

export async function debtorPages(app: FastifyInstance): Promise<void> {
  const { database, clock, config } = app.deps;
  const db = database.db;
  const policies = createPolicyService({ db });
  const sessions = createSessionRepository(db);
  const session = (request: FastifyRequest): PortalSession => request.portalSession!;
  // Dates on the business calendar, worked out once per minute of time: time-zone offsets
  // are whole minutes, so the date cannot change within one, and a time-zone conversion
  // costs tens of microseconds, a good part of a page.
  const dates = new Map<number, CalendarDate>();
  const businessDate = (instant: Date): CalendarDate => {
    const minute = Math.floor(instant.getTime() / 60_000);
    let day = dates.get(minute);
    if (day === undefined) {
      if (dates.size >= 10_000) dates.clear();
      day = calendarDateAt(instant, config.tzBusiness);
      dates.set(minute, day);
    }
    return day;
  };
  const today = (): CalendarDate => businessDate(clock.now());

  // One statement for the whole page: the session (with its creditor and policy), the open
  // debts and the agreements.
  app.get<{ Querystring: Query }>('/dividas', async (request, reply) => {
    const day = today();
    const page = await app.loadPortalSessionWith(request, reply, (id, now) => sessions.loadDebtsPage(id, now, prescriptionCutoff(day)));
    if (!page) return app.portalSessionEnded(reply);
    const { session: s, debts: debtRows, agreements: agreementRows } = page;
    const balanceOf = balanceCalculator(s.policy.policy, day);
    const debts = debtRows.map((d) => ({
      id: d.id,
      description: d.description ?? `Dívida ${d.externalId}`,
      externalId: d.externalId,
      dueDate: formatDateBR(d.dueDate),
      balance: formatBRL(balanceOf({ amount_cents: d.amountCents, credited_cents: d.creditedCents, due_date: d.dueDate }).balance_cents),
    }));
    const view = (a: (typeof agreementRows)[number]) => ({
      id: a.id,
      status: AGREEMENT_STATUS_TEXT[a.status].label,
      total: formatBRL(a.totalCents),
      plan: a.installments === 1 ? 'à vista' : `${a.installments} parcelas`,
      acceptedAt: formatDateBR(businessDate(a.acceptedAt)),
    });
    const live = agreementRows.filter((a) => a.status === 'pending' || a.status === 'active').map(view);
    const past = agreementRows.filter((a) => a.status !== 'pending' && a.status !== 'active').map(view);
    return renderPortalPage(reply, 'portal/debts', {
      title: 'Suas dívidas',
      creditor: creditorView(s.creditor),
      debtor: debtorView(s.cpf),
      live,
      past,
      debts,
      today: formatDateBR(day),
      error: request.query.erro === 'selecione' ? 'Marque ao menos uma dívida para ver as ofertas.' : undefined,
    });
  });

  /** The offers page for these debts (all open ones when `debtIds` is undefined), storing each offer shown. */
  async function renderOffers(request: FastifyRequest, reply: FastifyReply, debtIds: number[] | undefined, firstDueInput: string | undefined, notice?: NoticeKind): Promise<FastifyReply> {
    const s = session(request);
    const day = today();
    const debtRows = await openDebts(db, s, day, debtIds);
    if (debtRows.length === 0) {
      if (!notice) return seeOther(reply, '/dividas?erro=selecione');
      return renderPortalPage(reply.code(409), 'portal/notice', { title: NOTICES[notice].title, notice: NOTICES[notice], creditor: creditorView(s.creditor) });
    }
    const { version, policy } = s.policy;
    const maxDate = addDays(day, policy.first_due_max_days);
    let firstDue = day;
    let dateError: string | undefined;
    if (firstDueInput !== undefined && firstDueInput !== '') {
      const parsed = parseIsoDate(firstDueInput);
      if (parsed && parsed >= day && parsed <= maxDate) firstDue = parsed;
      else dateError = `Escolha uma data entre ${formatDateBR(day)} e ${formatDateBR(maxDate)}.`;
    }
    const built = buildOffers({ creditor: s.creditor, debts: debtRows, policyVersion: version, policy, asOf: day, firstDueDate: firstDue });
    const shown = await storeOffers(db, s, built.terms, policy, clock.now());
    const csrfToken = reply.generateCsrf();
    const first = shown[0]?.terms;
    return renderPortalPage(reply.code(notice ? 409 : 200), 'portal/offers', {
      title: 'Ofertas',
      csrfToken,
      notice: notice ? NOTICES[notice] : undefined,
      creditor: creditorView(s.creditor),
      debts: (first?.debts ?? debtRows.map((d) => ({ id: d.id, description: d.description, external_id: d.externalId, balance_cents: 0 }))).map((d) => ({
        id: d.id,
        description: d.description ?? `Dívida ${d.external_id}`,
        balance: formatBRL(d.balance_cents),
      })),
      balance: formatBRL(built.balanceCents),
      date: { value: firstDue, min: day, max: maxDate, minBR: formatDateBR(day), maxBR: formatDateBR(maxDate), error: dateError },
      validityHours: policy.offer_validity_hours,
      offers: shown.map((o) => ({ id: o.id, hash: o.termsHash, ...offerView(o.terms.offer, o.terms.balance_cents) })),
    });
  }

  app.get<{ Querystring: Query }>('/ofertas', { preHandler: [app.requirePortalSession] }, async (request, reply) => {
    const ids = debtIdsFrom(asList(request.query.debts));
    if (ids.length === 0) return seeOther(reply, '/dividas?erro=selecione');
    const date = asList(request.query.vencimento)[0];
    return renderOffers(request, reply, ids, date);
  });

  /** What an offer id from a form leads to: the agreement it made, a refusal page, or the offer. */
  async function resolveOffer(request: FastifyRequest, reply: FastifyReply, offerId: string, formHash: string | undefined): Promise<{ offer: OfferRow; terms: OfferTerms } | FastifyReply> {
    const s = session(request);
    const check = await checkOffer(db, s, offerId, formHash, clock.now());
    if (!check.ok && check.problem === 'tampered') return renderOffers(request, reply, undefined, undefined, 'tampered');
    const offer = check.ok ? check.offer : check.offer;
    const [made] = await db.select({ id: agreements.id }).from(agreements).where(eq(agreements.offerId, offer.id));
    if (made) return seeOther(reply, `/acordos/${made.id}`);
    if (!check.ok) return renderOffers(request, reply, offer.debtIds, undefined, 'expired');
    return { offer: check.offer, terms: check.terms };
  }

  app.post<{ Body: FormBody }>('/ofertas/escolher', { preHandler: [app.csrfProtection, app.requirePortalSession] }, async (request, reply) => {
    const resolved = await resolveOffer(request, reply, field(request.body, 'oferta') ?? '', field(request.body, 'h') ?? '');
    if ('offer' in resolved) return seeOther(reply, `/ofertas/${resolved.offer.id}`);
    return resolved;
  });

  function renderConfirmation(request: FastifyRequest, reply: FastifyReply, offer: OfferRow, terms: OfferTerms, error?: string): FastifyReply {
    const o = offerView(terms.offer, terms.balance_cents);
    return renderPortalPage(reply, 'portal/confirm', {
      title: 'Confirmar acordo',
      offerId: offer.id,
      hash: offer.termsHash,
      error,
      creditor: creditorView(terms.creditor),
      debtor: debtorView(session(request).cpf),
      debts: terms.debts.map((d) => ({ description: d.description ?? `Dívida ${d.external_id}`, externalId: d.external_id, dueDate: formatDateBR(d.due_date), balance: formatBRL(d.balance_cents) })),
      asOf: formatDateBR(terms.as_of),
      offer: o,
      late: { fine: formatPct(terms.late.late_fine_pct), interest: formatPct(terms.late.monthly_interest_pct), breakAfterDays: terms.late.break_after_days },
      expiresAt: formatInstantBR(offer.expiresAt, config.tzBusiness),
    });
  }

  app.get<{ Params: { id: string } }>('/ofertas/:id', { preHandler: [app.requirePortalSession] }, async (request, reply) => {
    const resolved = await resolveOffer(request, reply, request.params.id, undefined);
    if (!('offer' in resolved)) return resolved;
    return renderConfirmation(request, reply, resolved.offer, resolved.terms);
  });

  app.post<{ Params: { id: string }; Body: FormBody }>('/ofertas/:id/confirmar', { preHandler: [app.csrfProtection, app.requirePortalSession] }, async (request, reply) => {
    const s = session(request);
    const formHash = field(request.body, 'h') ?? '';
    if (field(request.body, 'aceite') === undefined) {
      const resolved = await resolveOffer(request, reply, request.params.id, formHash);
      if (!('offer' in resolved)) return resolved;
      return renderConfirmation(request, reply.code(422), resolved.offer, resolved.terms, 'Para confirmar, marque “Li e concordo com os termos do acordo”.');
    }
    const now = clock.now();
    const outcome = await db.transaction(async (tx) => {
      // The offer row lock serialises every confirmation of one offer (double clicks, tabs).
      const check = await checkOffer(tx, s, request.params.id, formHash, now, { lock: true });
      if (!check.ok && check.problem === 'tampered') return { kind: 'tampered' as const };
      const offer = check.ok ? check.offer : check.offer;
      const [made] = await tx.select({ id: agreements.id }).from(agreements).where(eq(agreements.offerId, offer.id));
      if (made) return { kind: 'exists' as const, agreementId: made.id };
      if (!check.ok) return { kind: 'expired' as const, debtIds: offer.debtIds };
      const policy = await policies.version(s.creditorId, offer.policyVersion, tx);
      return createAgreement(tx, {
        offerId: offer.id,
        creditorId: s.creditorId,
        cpf: s.cpf,
        linkId: s.linkId,
        offer: check.terms.offer,
        debts: check.terms.debts,
        policyVersion: policy.version,
        policy: policy.policy,
        termsHash: offer.termsHash,
        consent: { at: now, ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 512) },
      });
    });
    switch (outcome.kind) {
      case 'created':
        notifyOutbox();
        return seeOther(reply, `/acordos/${outcome.agreementId}`);
      case 'exists':
        return seeOther(reply, `/acordos/${outcome.agreementId}`);
      case 'tampered':
        return renderOffers(request, reply, undefined, undefined, 'tampered');
      case 'expired':
        return renderOffers(request, reply, outcome.debtIds, undefined, 'expired');
      case 'debts_unavailable':
        if (outcome.liveAgreementId) return seeOther(reply, `/acordos/${outcome.liveAgreementId}`);
        return renderOffers(request, reply, undefined, undefined, 'unavailable');
    }
  });
}
