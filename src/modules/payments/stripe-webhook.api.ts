// POST /webhooks/stripe: the signature is checked on the raw body (a JSON parser that keeps
// the bytes, in this plugin's scope only), then the event is applied once.
import type { FastifyInstance } from 'fastify';
import { errors } from '../../lib/errors.js';
import { Moment } from '../agreements/lifecycle.js';
import { notifyOutbox } from '../webhooks/webhooks.events.js';
import type { StripeGateway } from './providers/stripe.js';
import { handleStripeEvent } from './stripe-events.js';

export async function stripeWebhookApi(app: FastifyInstance, opts: { gateway: StripeGateway | undefined }): Promise<void> {
  const { database, clock, config } = app.deps;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/webhooks/stripe', { schema: { hide: true } }, async (request, reply) => {
    const gateway = opts.gateway;
    if (!gateway) throw errors.notFound('Route');
    const signature = request.headers['stripe-signature'];
    let event;
    try {
      event = gateway.verifyEvent(request.body as Buffer, typeof signature === 'string' ? signature : undefined);
    } catch {
      throw errors.badRequest('The Stripe-Signature header does not verify this body.', 'invalid_signature');
    }
    const m = Moment.of(clock, config.tzBusiness);
    const result = await database.db.transaction((tx) => handleStripeEvent(tx, event, m));
    if (result.outcome === 'mismatch') request.log.error({ stripeEvent: event.id, payment: result.paymentId }, 'Stripe payment amount or currency differs from the payment: not settled');
    else request.log.info({ stripeEvent: event.id, type: event.type, outcome: result.outcome }, 'stripe event');
    notifyOutbox();
    return reply.code(200).send({ received: true });
  });
}
