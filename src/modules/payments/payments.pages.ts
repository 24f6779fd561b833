// The payment pages (CONTRACT §7): /acordos/{id}/pagar?parcela=N and /acordos/{id}/quitar
// show what is due and how to pay it; POST /acordos/{id}/pagamentos starts (or resumes) a
// payment; /acordos/{id}/pagamentos/{paymentId} shows it (a Pix code, a boleto, Stripe's
// card form, or how it ended).
import { readFileSync } from 'node:fs';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { creditors, debts, payments } from '../../db/schema/index.js';
import { calendarDateAt, formatDateBR } from '../../lib/dates.js';
import { formatBRL } from '../../lib/money.js';
import { projectPath } from '../../lib/paths.js';
import { scrub } from '../../lib/redact.js';
import { isUnpaid } from '../agreements/agreements.mapper.js';
import { Moment, type LockedAgreement } from '../agreements/lifecycle.js';
import { formatInstantBR } from '../portal/format.js';
import { loadOwnAgreement } from '../portal/agreement.pages.js';
import { renderPortalPage, seeOther } from '../portal/portal.plugin.js';
import type { PortalSession } from '../portal/session.js';
import { creditorView } from '../portal/view-models.js';
import { notifyOutbox } from '../webhooks/webhooks.events.js';
import { lockPayment, markPaymentProcessing, openPayment, payable, saveDisplay, settlePayment, type PaymentRow, type PaymentTarget } from './payments.service.js';
import type { PaymentMode } from './providers/index.js';
import { pixQrDataUrl, sandboxPixCode } from './providers/sandbox.js';
import { BOLETO_MAX_CENTS, BOLETO_MIN_CENTS, type BoletoBilling, type StripeGateway } from './providers/stripe.js';
import { applyIntent } from './stripe-events.js';

type Query = Record<string, string | undefined>;
type Form = Record<string, unknown> | undefined;

const CARD_SCRIPT = readFileSync(projectPath('views', 'static', 'pagamento-cartao.js'), 'utf8');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UFS = new Set('AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO'.split(' '));

const field = (form: Form, name: string): string => {
  const v = form?.[name];
  return typeof v === 'string' ? v.trim() : '';
};

function targetFrom(kind: string | undefined, parcel: string | undefined): PaymentTarget | undefined {
  if (kind === 'quitacao') return { kind: 'payoff' };
  if (parcel !== undefined && /^\d{1,4}$/.test(parcel)) return { kind: 'parcel', parcelNumber: Number(parcel) };
  return undefined;
}

const pagePath = (id: string, target: PaymentTarget) => (target.kind === 'payoff' ? `/acordos/${id}/quitar` : `/acordos/${id}/pagar?parcela=${target.parcelNumber}`);

interface BoletoErrors {
  [field: string]: string;
}

/** The boleto's payer: name and e-mail as the creditor sent them; the rest from the form. */
function boletoBilling(form: Form, debtor: { cpf: string; name: string; email: string | null }): { billing?: BoletoBilling; errors: BoletoErrors; values: Record<string, string> } {
  const values = {
    email: debtor.email ?? field(form, 'email'),
    cep: field(form, 'cep').replace(/\D/g, ''),
    endereco: field(form, 'endereco'),
    cidade: field(form, 'cidade'),
    uf: field(form, 'uf').toUpperCase(),
  };
  const errors: BoletoErrors = {};
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email) || values.email.length > 200) errors.email = 'Informe um e-mail válido, como nome@exemplo.com.';
  if (!/^\d{8}$/.test(values.cep)) errors.cep = 'Informe o CEP com 8 dígitos, como 01310-100.';
  if (values.endereco.length < 3 || values.endereco.length > 200) errors.endereco = 'Informe a rua e o número.';
  if (values.cidade.length < 2 || values.cidade.length > 100) errors.cidade = 'Informe a cidade.';
  if (!UFS.has(values.uf)) errors.uf = 'Informe a sigla do estado, como SP.';
  if (Object.keys(errors).length > 0) return { errors, values };
  return {
    errors,
    values,
    billing: {
      cpf: debtor.cpf,
      name: debtor.name,
      email: values.email,
      address: { line1: values.endereco, city: values.cidade, state: values.uf, postal_code: values.cep },
    },
  };
}

export async function paymentPages(app: FastifyInstance, opts: { mode: PaymentMode }): Promise<void> {
  const { database, clock, config } = app.deps;
  const db = database.db;
  const tz = config.tzBusiness;
  const mode = opts.mode;
  const gateway: StripeGateway | undefined = mode.kind === 'stripe' ? mode.gateway : undefined;

  const notFound = (reply: FastifyReply) => renderPortalPage(reply.code(404), 'error', { status: 404 });

  async function own(session: PortalSession, id: string): Promise<LockedAgreement | undefined> {
    const found = await loadOwnAgreement(app, session, id);
    return found ? { row: found.agreement, parcels: found.parcels } : undefined;
  }

  async function debtorOf(session: PortalSession) {
    const [row] = await db
      .select({ name: debts.name, email: debts.email })
      .from(debts)
      .where(and(eq(debts.creditorId, session.creditorId), eq(debts.cpf, session.cpf)))
      .orderBy(desc(debts.id))
      .limit(1);
    return { cpf: session.cpf, name: row?.name ?? 'Cliente', email: row?.email ?? null };
  }

  /** What the payment page says about the amount and the target. */
  function amountView(a: LockedAgreement, target: PaymentTarget, amountCents: number) {
    if (target.kind === 'parcel') {
      const p = a.parcels.find((x) => x.number === target.parcelNumber)!;
      return { heading: `Pagar a parcela ${p.number} de ${a.parcels.length}`, amount: formatBRL(amountCents), dueDate: formatDateBR(p.dueDate), overdue: p.status === 'overdue' };
    }
    const unpaid = a.parcels.filter(isUnpaid);
    const nominal = unpaid.reduce((s, p) => s + p.amountCents, 0);
    return {
      heading: 'Quitar antecipado',
      amount: formatBRL(amountCents),
      payoff: { count: unpaid.length, nominal: formatBRL(nominal), saving: nominal > amountCents ? formatBRL(nominal - amountCents) : null },
    };
  }

  async function inProgressOf(agreementId: string, target: PaymentTarget): Promise<PaymentRow | undefined> {
    const parcelNumber = target.kind === 'parcel' ? target.parcelNumber : null;
    const [row] = await db
      .select()
      .from(payments)
      .where(
        and(
          eq(payments.agreementId, agreementId),
          eq(payments.kind, target.kind),
          parcelNumber === null ? isNull(payments.parcelNumber) : eq(payments.parcelNumber, parcelNumber),
          eq(payments.provider, 'stripe'),
        ),
      )
      .orderBy(desc(payments.createdAt))
      .limit(1);
    return row && (row.status === 'pending' || row.status === 'processing') ? row : undefined;
  }

  async function renderPayPage(request: FastifyRequest, reply: FastifyReply, a: LockedAgreement, target: PaymentTarget, extra: Record<string, unknown> = {}) {
    const session = request.portalSession!;
    const m = Moment.of(clock, tz);
    const check = payable(a, target, m.today);
    if (!check.ok) {
      if (check.reason === 'processing') {
        const current = await inProgressOf(a.row.id, target);
        return renderPortalPage(reply, 'payments/pay', {
          title: 'Pagamento em processamento',
          id: a.row.id,
          creditor: creditorView(session.creditor),
          heading: target.kind === 'payoff' ? 'Quitar antecipado' : `Pagar a parcela ${target.parcelNumber}`,
          processing: true,
          current: current ? await paymentView(current, m.now) : null,
        });
      }
      return seeOther(reply, `/acordos/${a.row.id}`);
    }
    const base = {
      title: target.kind === 'payoff' ? 'Quitar antecipado' : 'Pagamento',
      id: a.row.id,
      creditor: creditorView(session.creditor),
      ...amountView(a, target, check.amountCents),
      form: { alvo: target.kind === 'payoff' ? 'quitacao' : 'parcela', parcela: target.kind === 'parcel' ? target.parcelNumber : '', valor: check.amountCents },
      selfPath: target.kind === 'payoff' ? `/acordos/${a.row.id}/quitar` : `/acordos/${a.row.id}/pagar`,
      ...extra,
    };
    if (mode.kind === 'unavailable') return renderPortalPage(reply, 'payments/pay', { ...base, unavailable: true });
    if (mode.kind === 'sandbox') {
      const [creditor] = await db.select({ name: creditors.name, city: creditors.city, pixKey: creditors.pixKey }).from(creditors).where(eq(creditors.id, session.creditorId));
      const pix = await sandboxPixCode(creditor!, check.amountCents, `QUITA${a.row.id.slice(0, 8)}${target.kind === 'parcel' ? `P${target.parcelNumber}` : 'Q'}`);
      return renderPortalPage(reply, 'payments/pay', { ...base, sandbox: true, pix: pix ? { code: pix.code, qr: pix.qrDataUrl } : null });
    }
    const methods = gateway!.methodsFor(check.amountCents);
    const current = await inProgressOf(a.row.id, target);
    return renderPortalPage(reply, 'payments/pay', {
      ...base,
      stripe: true,
      boleto: methods.includes('boleto'),
      card: methods.includes('card'),
      boletoRange: `${formatBRL(BOLETO_MIN_CENTS)} e ${formatBRL(BOLETO_MAX_CENTS)}`,
      current: current && current.amountCents === check.amountCents ? await paymentView(current, m.now) : null,
    });
  }

  /** How a payment shows: its Pix code while valid, its boleto, or its outcome. */
  async function paymentView(p: PaymentRow, now: Date) {
    const pix = p.display?.pix && p.status === 'pending' && (!p.display.pix.expires_at || new Date(p.display.pix.expires_at) > now) ? p.display.pix : undefined;
    const boleto = p.display?.boleto && (p.status === 'processing' || p.status === 'pending') ? p.display.boleto : undefined;
    return {
      id: p.id,
      href: `/acordos/${p.agreementId}/pagamentos/${p.id}`,
      amount: formatBRL(p.amountCents),
      status: p.status,
      succeeded: p.status === 'succeeded',
      failed: p.status === 'failed',
      processing: p.status === 'processing',
      failureMessage: p.failureMessage,
      paidAt: p.paidAt ? formatInstantBR(p.paidAt, tz) : null,
      pix: pix ? { code: pix.code, qr: await pixQrDataUrl(pix.code), expiresAt: pix.expires_at ? formatInstantBR(new Date(pix.expires_at), tz) : null } : null,
      boleto: boleto ? { number: boleto.number, url: boleto.hosted_voucher_url, pdf: boleto.pdf, expiresAt: boleto.expires_at ? formatDateBR(calendarDateAt(new Date(boleto.expires_at), tz)) : null } : null,
    };
  }

  async function renderBoletoForm(request: FastifyRequest, reply: FastifyReply, a: LockedAgreement, target: PaymentTarget, errors: BoletoErrors = {}, values: Record<string, string> = {}) {
    const session = request.portalSession!;
    const m = Moment.of(clock, tz);
    const check = payable(a, target, m.today);
    if (!check.ok || !gateway || !gateway.methodsFor(check.amountCents).includes('boleto')) return seeOther(reply, pagePath(a.row.id, target));
    const debtor = await debtorOf(session);
    return renderPortalPage(reply, 'payments/boleto', {
      title: 'Pagar com boleto',
      id: a.row.id,
      creditor: creditorView(session.creditor),
      ...amountView(a, target, check.amountCents),
      form: { alvo: target.kind === 'payoff' ? 'quitacao' : 'parcela', parcela: target.kind === 'parcel' ? target.parcelNumber : '', valor: check.amountCents },
      backPath: pagePath(a.row.id, target),
      payer: { name: debtor.name, email: debtor.email },
      askEmail: !debtor.email,
      values,
      errors,
      hasErrors: Object.keys(errors).length > 0,
    });
  }

  const showPay = (target: (q: Query) => PaymentTarget | undefined) => async (request: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply: FastifyReply) => {
    const a = await own(request.portalSession!, request.params.id);
    const t = target(request.query);
    if (!a || !t) return notFound(reply);
    if (request.query.metodo === 'boleto') return renderBoletoForm(request, reply, a, t);
    return renderPayPage(request, reply, a, t);
  };

  type PayRoute = { Params: { id: string }; Querystring: Query };
  app.get<PayRoute>('/acordos/:id/pagar', { preHandler: [app.requirePortalSession] }, showPay((q) => targetFrom('parcela', q.parcela)));
  app.get<PayRoute>('/acordos/:id/quitar', { preHandler: [app.requirePortalSession] }, showPay(() => ({ kind: 'payoff' })));

  app.post<{ Params: { id: string }; Body: Form }>('/acordos/:id/pagamentos', { preHandler: [app.csrfProtection, app.requirePortalSession] }, async (request, reply) => {
    const session = request.portalSession!;
    const a = await own(session, request.params.id);
    const form = request.body;
    const target = targetFrom(field(form, 'alvo'), field(form, 'parcela'));
    if (!a || !target) return notFound(reply);
    const method = field(form, 'metodo');
    const expected = /^\d{1,15}$/.test(field(form, 'valor')) ? Number(field(form, 'valor')) : undefined;
    const m = Moment.of(clock, tz);

    if (mode.kind === 'unavailable') return renderPayPage(request, reply, a, target);
    if (mode.kind === 'sandbox') {
      if (method !== 'sandbox') return notFound(reply);
      const open = await openPayment(db, { agreementId: a.row.id, creditorId: session.creditorId, target, method: 'sandbox', provider: 'sandbox', expectedCents: expected, m });
      if (!open.ok) return openFailed(request, reply, a, target, open.reason);
      // The sandbox plays the provider confirming the payment: the same settle path as a Stripe webhook.
      await db.transaction((tx) => settlePayment(tx, { locator: { id: open.payment.id }, amountCents: open.payment.amountCents, currency: 'brl', method: 'sandbox', m }));
      notifyOutbox();
      return seeOther(reply, `/acordos/${a.row.id}`);
    }

    const gw = gateway!;
    if (method !== 'pix' && method !== 'boleto' && method !== 'card') return notFound(reply);
    let billing: BoletoBilling | undefined;
    if (method === 'boleto') {
      const checked = boletoBilling(form, await debtorOf(session));
      if (!checked.billing) return renderBoletoForm(request, reply.code(422), a, target, checked.errors, checked.values);
      billing = checked.billing;
    }
    const check = payable(a, target, m.today);
    if (check.ok && !gw.methodsFor(check.amountCents).includes(method)) return seeOther(reply, pagePath(a.row.id, target));
    const open = await openPayment(db, { agreementId: a.row.id, creditorId: session.creditorId, target, method, provider: 'stripe', expectedCents: expected, m });
    if (!open.ok) return openFailed(request, reply, a, target, open.reason);
    let payment = open.payment;
    try {
      let intentId = payment.providerRef;
      if (!intentId) {
        const intent = await gw.createIntent(payment);
        intentId = intent.id;
        const [stored] = await db.update(payments).set({ providerRef: intent.id }).where(and(eq(payments.id, payment.id), isNull(payments.providerRef))).returning();
        payment = stored ?? payment;
      }
      if (method === 'pix') {
        const valid = payment.display?.pix && (!payment.display.pix.expires_at || new Date(payment.display.pix.expires_at) > m.now);
        if (!valid) {
          const intent = await gw.confirmPix(intentId, payment.id);
          if (intent.display?.pix) await saveDisplay(db, payment, { pix: intent.display.pix }, m);
        }
      } else if (method === 'boleto') {
        const intent = await gw.confirmBoleto(intentId, payment.id, billing!);
        if (intent.display?.boleto) {
          await db.transaction(async (tx) => {
            const locked = await lockPayment(tx, { id: payment.id });
            if (locked) await markPaymentProcessing(tx, locked, { display: intent.display, method: 'boleto', m });
          });
        }
      }
    } catch (err) {
      request.log.error({ err: scrub((err as Error).message), payment: payment.id }, 'stripe call failed');
      return renderPayPage(request, reply.code(502), a, target, {
        notice: 'Não foi possível iniciar o pagamento agora. Nada foi cobrado. Tente de novo em alguns minutos.',
      });
    }
    return seeOther(reply, `/acordos/${a.row.id}/pagamentos/${payment.id}`);
  });

  function openFailed(request: FastifyRequest, reply: FastifyReply, a: LockedAgreement, target: PaymentTarget, reason: string) {
    if (reason === 'not_found') return notFound(reply);
    if (reason === 'amount_changed') {
      return renderPayPage(request, reply.code(409), a, target, { notice: 'O valor foi atualizado desde que esta página foi aberta. Confira o novo valor abaixo.' });
    }
    if (reason === 'processing') return seeOther(reply, pagePath(a.row.id, target));
    return seeOther(reply, `/acordos/${a.row.id}`);
  }

  app.get<{ Params: { id: string; paymentId: string }; Querystring: Query }>(
    '/acordos/:id/pagamentos/:paymentId',
    { preHandler: [app.requirePortalSession] },
    async (request, reply) => {
      const session = request.portalSession!;
      const a = await own(session, request.params.id);
      if (!a || !UUID.test(request.params.paymentId)) return notFound(reply);
      let [payment] = await db
        .select()
        .from(payments)
        .where(and(eq(payments.id, request.params.paymentId.toLowerCase()), eq(payments.agreementId, a.row.id)));
      if (!payment) return notFound(reply);
      const m = Moment.of(clock, tz);
      let clientSecret: string | null = null;
      if (gateway && payment.provider === 'stripe' && payment.providerRef && payment.status === 'pending') {
        try {
          const intent = await gateway.retrieveIntent(payment.providerRef);
          clientSecret = intent.clientSecret;
          // Back from Stripe's card form: do not wait for the webhook to show the outcome.
          if (intent.status === 'succeeded' || intent.status === 'processing') {
            const id = payment.id;
            await db.transaction(async (tx) => {
              const locked = await lockPayment(tx, { id });
              if (locked) await applyIntent(tx, locked, intent, intent.status === 'succeeded' ? 'succeeded' : 'processing', m);
            });
            notifyOutbox();
            [payment] = await db.select().from(payments).where(eq(payments.id, id));
          }
        } catch (err) {
          request.log.warn({ err: scrub((err as Error).message), payment: request.params.paymentId }, 'stripe retrieve failed');
        }
      }
      const view = await paymentView(payment!, m.now);
      const target: PaymentTarget = payment!.kind === 'payoff' ? { kind: 'payoff' } : { kind: 'parcel', parcelNumber: payment!.parcelNumber! };
      const showCard = payment!.status === 'pending' && payment!.method === 'card' && clientSecret && gateway?.publishableKey;
      return renderPortalPage(reply, 'payments/payment', {
        title: 'Pagamento',
        id: a.row.id,
        creditor: creditorView(session.creditor),
        heading: target.kind === 'payoff' ? 'Quitação antecipada' : `Parcela ${target.parcelNumber}`,
        payment: view,
        retryPath: pagePath(a.row.id, target),
        card: showCard ? { publishableKey: gateway!.publishableKey, clientSecret, returnUrl: `${config.publicUrl}/acordos/${a.row.id}/pagamentos/${payment!.id}` } : null,
        waitingPix: payment!.status === 'pending' && payment!.method === 'pix' && !view.pix,
      });
    },
  );

  app.get('/static/pagamento-cartao.js', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8');
    return CARD_SCRIPT;
  });
}
