import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createEndpointBody,
  createdEndpointResponse,
  emptyBody,
  endpointListQuery,
  endpointListResponse,
  endpointParams,
  endpointResponse,
  eventDetailResponse,
  eventListQuery,
  eventListResponse,
  redeliverBody,
  redeliverResponse,
  secretResponse,
} from './webhooks.schemas.js';
import { createWebhookService } from './webhooks.service.js';

export async function webhooksApi(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock, config } = app.deps;
  const service = createWebhookService({ db: database.db, clock, allowPrivateUrls: config.webhookAllowPrivateUrls });
  const security = [{ bearer: [] }];
  // Authentication before validation: a caller without a valid token learns nothing about the schema.
  const read = { onRequest: [app.authenticateCreditor] };
  const write = { onRequest: [app.authenticateCreditor], preHandler: [app.idempotent((request) => `creditor:${request.creditorId}`)] };

  api.post('/api/v1/webhook-endpoints', {
    ...write,
    schema: { tags: ['webhooks'], summary: 'Register an endpoint; its signing secret is shown only here', security, body: createEndpointBody, response: { 201: createdEndpointResponse } },
    handler: async (request, reply) => reply.code(201).send(await service.createEndpoint(request.creditorId, request.body)),
  });

  api.get('/api/v1/webhook-endpoints', {
    ...read,
    schema: { tags: ['webhooks'], summary: 'List endpoints (without secrets), newest first', security, querystring: endpointListQuery, response: { 200: endpointListResponse } },
    handler: async (request) => service.listEndpoints(request.creditorId, request.query),
  });

  api.get('/api/v1/webhook-endpoints/:id', {
    ...read,
    schema: { tags: ['webhooks'], summary: 'One endpoint (without its secret)', security, params: endpointParams, response: { 200: endpointResponse } },
    handler: async (request) => service.getEndpoint(request.creditorId, request.params.id),
  });

  api.delete('/api/v1/webhook-endpoints/:id', {
    ...read,
    schema: { tags: ['webhooks'], summary: 'Delete an endpoint; its pending deliveries stop', security, params: endpointParams, response: { 204: z.null() } },
    handler: async (request, reply) => {
      await service.deleteEndpoint(request.creditorId, request.params.id);
      return reply.code(204).send(null);
    },
  });

  api.post('/api/v1/webhook-endpoints/:id/rotate-secret', {
    ...write,
    schema: { tags: ['webhooks'], summary: 'A new signing secret; the old one keeps signing beside it for 24 h', security, params: endpointParams, body: emptyBody, response: { 200: secretResponse } },
    handler: async (request) => service.rotateSecret(request.creditorId, request.params.id),
  });

  api.post('/api/v1/webhook-endpoints/:id/enable', {
    ...write,
    schema: { tags: ['webhooks'], summary: 'Enable an endpoint again (after a 410 disabled it)', security, params: endpointParams, body: emptyBody, response: { 200: endpointResponse } },
    handler: async (request) => service.enableEndpoint(request.creditorId, request.params.id),
  });

  api.get('/api/v1/events', {
    ...read,
    schema: { tags: ['webhooks'], summary: 'Events, newest first: the polling fallback to webhooks', security, querystring: eventListQuery, response: { 200: eventListResponse } },
    handler: async (request) => service.listEvents(request.creditorId, request.query),
  });

  api.get('/api/v1/events/:id', {
    ...read,
    schema: { tags: ['webhooks'], summary: 'One event with every delivery try', security, params: endpointParams, response: { 200: eventDetailResponse } },
    handler: async (request) => service.getEvent(request.creditorId, request.params.id),
  });

  api.post('/api/v1/events/:id/redeliver', {
    ...write,
    schema: { tags: ['webhooks'], summary: 'Send the event again, to one endpoint or to every subscribed one', security, params: endpointParams, body: redeliverBody, response: { 202: redeliverResponse } },
    handler: async (request, reply) => reply.code(202).send(await service.redeliver(request.creditorId, request.params.id, request.body?.endpoint_id)),
  });
}
