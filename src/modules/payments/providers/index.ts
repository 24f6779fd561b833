// Which provider takes payments: Stripe when it is configured; otherwise the sandbox when
// PAYMENTS_SANDBOX allows it (the default outside production); otherwise none, and the
// payment pages say payments are unavailable.
import type { Config } from '../../../config.js';
import { createStripeGateway, type StripeGateway } from './stripe.js';

export type PaymentMode = { kind: 'stripe'; gateway: StripeGateway } | { kind: 'sandbox' } | { kind: 'unavailable' };

export function paymentMode(config: Config): PaymentMode {
  if (config.stripe) return { kind: 'stripe', gateway: createStripeGateway(config.stripe) };
  if (config.paymentsSandbox) return { kind: 'sandbox' };
  return { kind: 'unavailable' };
}
