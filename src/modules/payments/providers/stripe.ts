// The Stripe provider: one PaymentIntent per payment, in BRL, created with an idempotency
// key of our own so that a reload or a retried request never makes a second one; Pix and
// boleto confirmed server-side, card through Stripe's Payment Element in the browser.
// Every call happens outside any database transaction.
import Stripe from 'stripe';
import type { Config } from '../../../config.js';
import type { PaymentDisplay } from '../../../db/schema/index.js';

export type StripeMethod = 'pix' | 'boleto' | 'card';

/** Stripe accepts a boleto from R$ 5,00 to R$ 49.999,99. */
export const BOLETO_MIN_CENTS = 500;
export const BOLETO_MAX_CENTS = 4_999_999;

export interface BoletoBilling {
  cpf: string;
  name: string;
  email: string;
  address: { line1: string; city: string; state: string; postal_code: string };
}

/** What Quita reads of a PaymentIntent. */
export interface IntentSnapshot {
  id: string;
  status: Stripe.PaymentIntent.Status;
  clientSecret: string | null;
  display: PaymentDisplay | undefined;
  amount: number;
  amountReceived: number;
  currency: string;
  failureMessage: string | null;
  /** Our payment id, from the metadata it was created with. */
  paymentId: string | undefined;
}

export interface StripeGateway {
  readonly publishableKey: string | undefined;
  /** The methods offered for an amount: Pix, boleto within its range, card when the browser can be given a publishable key. */
  methodsFor(amountCents: number): StripeMethod[];
  createIntent(payment: { id: string; amountCents: number; agreementId: string; creditorId: string; parcelNumber: number | null }): Promise<IntentSnapshot>;
  retrieveIntent(id: string): Promise<IntentSnapshot>;
  confirmPix(intentId: string, paymentId: string): Promise<IntentSnapshot>;
  confirmBoleto(intentId: string, paymentId: string, billing: BoletoBilling): Promise<IntentSnapshot>;
  /** Verifies Stripe-Signature on the raw body; throws when it does not hold. */
  verifyEvent(rawBody: Buffer, signature: string | undefined): Stripe.Event;
}

export function stripeClient(cfg: NonNullable<Config['stripe']>): Stripe {
  const options: Stripe.StripeConfig = { maxNetworkRetries: 2, timeout: 20_000, telemetry: false };
  if (cfg.apiBase) {
    const base = new URL(cfg.apiBase);
    const protocol = base.protocol === 'http:' ? 'http' : 'https';
    options.host = base.hostname;
    options.port = base.port || (protocol === 'http' ? 80 : 443);
    options.protocol = protocol;
  }
  return new Stripe(cfg.secretKey, options);
}

const isoFromUnix = (seconds: number | null | undefined): string | null => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null);

/** The Pix code or boleto a PaymentIntent asks the customer to pay, if any. */
export function displayOf(intent: Stripe.PaymentIntent): PaymentDisplay | undefined {
  const next = intent.next_action;
  const pix = next?.pix_display_qr_code;
  if (pix?.data) return { pix: { code: pix.data, expires_at: isoFromUnix(pix.expires_at) } };
  const boleto = next?.boleto_display_details;
  if (boleto?.number) {
    return { boleto: { number: boleto.number, hosted_voucher_url: boleto.hosted_voucher_url, pdf: boleto.pdf, expires_at: isoFromUnix(boleto.expires_at) } };
  }
  return undefined;
}

export function snapshot(intent: Stripe.PaymentIntent): IntentSnapshot {
  return {
    id: intent.id,
    status: intent.status,
    clientSecret: intent.client_secret,
    display: displayOf(intent),
    amount: intent.amount,
    amountReceived: typeof intent.amount_received === 'number' ? intent.amount_received : intent.amount,
    currency: intent.currency,
    failureMessage: intent.last_payment_error?.message ?? null,
    paymentId: intent.metadata?.quita_payment_id,
  };
}

export function createStripeGateway(cfg: NonNullable<Config['stripe']>): StripeGateway {
  const stripe = stripeClient(cfg);
  const publishableKey = cfg.publishableKey;
  return {
    publishableKey,
    methodsFor(amountCents) {
      const methods: StripeMethod[] = ['pix'];
      if (amountCents >= BOLETO_MIN_CENTS && amountCents <= BOLETO_MAX_CENTS) methods.push('boleto');
      if (publishableKey) methods.push('card');
      return methods;
    },
    async createIntent(payment) {
      const intent = await stripe.paymentIntents.create(
        {
          amount: payment.amountCents,
          currency: 'brl',
          allowed_payment_method_types: this.methodsFor(payment.amountCents),
          description: payment.parcelNumber === null ? 'Quitação antecipada do acordo' : `Parcela ${payment.parcelNumber} do acordo`,
          metadata: {
            quita_payment_id: payment.id,
            quita_agreement_id: payment.agreementId,
            quita_creditor_id: payment.creditorId,
          },
        },
        { idempotencyKey: `quita-payment-${payment.id}` },
      );
      return snapshot(intent);
    },
    async retrieveIntent(id) {
      return snapshot(await stripe.paymentIntents.retrieve(id));
    },
    async confirmPix(intentId, paymentId) {
      const intent = await stripe.paymentIntents.confirm(intentId, { payment_method_data: { type: 'pix' } }, { idempotencyKey: `quita-payment-${paymentId}-pix` });
      return snapshot(intent);
    },
    async confirmBoleto(intentId, paymentId, billing) {
      const intent = await stripe.paymentIntents.confirm(
        intentId,
        {
          payment_method_data: {
            type: 'boleto',
            boleto: { tax_id: billing.cpf },
            billing_details: { name: billing.name, email: billing.email, address: { ...billing.address, country: 'BR' } },
          },
        },
        { idempotencyKey: `quita-payment-${paymentId}-boleto` },
      );
      return snapshot(intent);
    },
    verifyEvent(rawBody, signature) {
      if (!cfg.webhookSecret) throw new Error('STRIPE_WEBHOOK_SECRET is not set');
      if (!signature) throw new Error('no Stripe-Signature header');
      return stripe.webhooks.constructEvent(rawBody, signature, cfg.webhookSecret);
    },
  };
}
