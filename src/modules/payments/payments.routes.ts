// The payments module's routes: the debtor's payment pages and Stripe's webhook, sharing one provider.
import type { FastifyInstance } from 'fastify';
import { paymentPages } from './payments.pages.js';
import { paymentMode } from './providers/index.js';
import { stripeWebhookApi } from './stripe-webhook.api.js';

export async function paymentsRoutes(app: FastifyInstance): Promise<void> {
  const mode = paymentMode(app.deps.config);
  if (mode.kind === 'stripe' && !app.deps.config.stripe?.webhookSecret) {
    app.log.warn('STRIPE_WEBHOOK_SECRET is not set: Stripe payments will never be confirmed');
  }
  await app.register(paymentPages, { mode });
  await app.register(stripeWebhookApi, { gateway: mode.kind === 'stripe' ? mode.gateway : undefined });
}
