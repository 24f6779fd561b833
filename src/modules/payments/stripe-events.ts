// What a Stripe PaymentIntent event does to our payment, in one transaction: the event id is
// recorded first (a repeated delivery stops there), then the payment moves — settled on
// `succeeded` (amount and currency checked), `processing` while money is on its way or a
// boleto awaits payment, `failed` on `payment_failed`. An event older than one already
// applied changes nothing, and nothing undoes a success.
import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Executor } from '../../db/client.js';
import { stripeEvents } from '../../db/schema/index.js';
import type { Moment } from '../agreements/lifecycle.js';
import { lockPayment, markPaymentProcessing, recordPaymentFailure, saveDisplay, settlePayment, type PaymentRow } from './payments.service.js';
import { snapshot, type IntentSnapshot } from './providers/stripe.js';

export type StripeEventOutcome = 'duplicate' | 'ignored' | 'settled' | 'already' | 'mismatch' | 'processing' | 'failed' | 'unchanged';

export type IntentChange = 'succeeded' | 'processing' | 'requires_action' | 'failed';

const CHANGE_BY_TYPE: Record<string, IntentChange> = {
  'payment_intent.succeeded': 'succeeded',
  'payment_intent.processing': 'processing',
  'payment_intent.requires_action': 'requires_action',
  'payment_intent.payment_failed': 'failed',
  'payment_intent.canceled': 'failed',
};

/** Applies what Stripe says of a PaymentIntent to the (locked) payment; the same for webhooks and for the card's return page. */
export async function applyIntent(tx: Executor, payment: PaymentRow, intent: IntentSnapshot, change: IntentChange, m: Moment, eventAt?: Date): Promise<StripeEventOutcome> {
  switch (change) {
    case 'succeeded': {
      const result = await settlePayment(tx, { locator: { id: payment.id }, amountCents: intent.amountReceived, currency: intent.currency, m });
      return result.kind === 'settled' ? 'settled' : result.kind === 'already' ? 'already' : result.kind === 'mismatch' ? 'mismatch' : 'ignored';
    }
    case 'processing':
      return (await markPaymentProcessing(tx, payment, { eventAt, m })) ? 'processing' : 'unchanged';
    case 'requires_action': {
      if (intent.display?.boleto) {
        return (await markPaymentProcessing(tx, payment, { display: intent.display, method: 'boleto', eventAt, m })) ? 'processing' : 'unchanged';
      }
      if (intent.display?.pix && payment.status === 'pending') await saveDisplay(tx, payment, intent.display, m);
      return 'unchanged';
    }
    case 'failed': {
      const message = intent.failureMessage ?? (intent.status === 'canceled' ? 'Pagamento cancelado.' : 'Pagamento não concluído.');
      return (await recordPaymentFailure(tx, payment, { message, eventAt, m })) ? 'failed' : 'unchanged';
    }
  }
}

export async function handleStripeEvent(tx: Executor, event: Stripe.Event, m: Moment): Promise<{ outcome: StripeEventOutcome; paymentId?: string }> {
  const [fresh] = await tx.insert(stripeEvents).values({ id: event.id, type: event.type, receivedAt: m.now }).onConflictDoNothing().returning({ id: stripeEvents.id });
  if (!fresh) return { outcome: 'duplicate' };
  const change = CHANGE_BY_TYPE[event.type];
  if (!change) return { outcome: 'ignored' };
  const intent = snapshot(event.data.object as Stripe.PaymentIntent);
  const payment = await lockPayment(tx, { providerRef: intent.id, fallbackId: intent.paymentId });
  if (!payment) return { outcome: 'ignored' };
  await tx.update(stripeEvents).set({ paymentId: payment.id, creditorId: payment.creditorId }).where(eq(stripeEvents.id, event.id));
  const outcome = await applyIntent(tx, payment, intent, change, m, new Date(event.created * 1000));
  return { outcome, paymentId: payment.id };
}
