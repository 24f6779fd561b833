import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { saveClockOffset } from '../../lib/clock-sync.js';
import { ACCESS_TOKEN_TTL_SECONDS } from '../../plugins/auth.js';
import {
  clockBody,
  clockResponse,
  createCreditorBody,
  createdCreditorResponse,
  credentialListQuery,
  credentialListResponse,
  noBody,
  credentialsResponse,
  profileBody,
  profileResponse,
  tokenBody,
  tokenResponse,
} from './creditors.schemas.js';
import { createCreditorService } from './creditors.service.js';

export async function creditorsApi(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock, config } = app.deps;
  const service = createCreditorService({ db: database.db, clock });
  // Authenticated on request, before the body is read: without a token, 401 comes before any 422.
  const creditor = { onRequest: [app.authenticateCreditor], security: [{ bearer: [] }] };
  const byCreditor = app.idempotent((request) => `creditor:${request.creditorId}`);

  api.post('/api/v1/admin/creditors', {
    onRequest: [app.authenticateAdmin],
    preHandler: [app.idempotent(() => 'admin')],
    schema: { tags: ['admin'], summary: 'Create a creditor and its first credential', security: [{ admin: [] }], body: createCreditorBody, response: { 201: createdCreditorResponse } },
    handler: async (request, reply) => reply.code(201).send(await service.create(request.body)),
  });

  // Not registered in production: there it answers 404 whatever the body, and is not documented.
  if (!config.isProduction) {
    api.post('/api/v1/admin/clock', {
      onRequest: [app.authenticateAdmin],
      schema: { tags: ['admin'], summary: 'Move the clock every rule and job reads (not in production)', security: [{ admin: [] }], body: clockBody, response: { 200: clockResponse } },
      handler: async (request) => {
        clock.set(request.body.now === null ? null : new Date(request.body.now));
        await saveClockOffset(database.db, clock.offset);
        return { now: clock.now().toISOString(), adjusted: clock.adjusted };
      },
    });
  }

  api.post('/api/v1/auth/token', {
    config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    schema: { tags: ['auth'], summary: 'Exchange client credentials for an access token (JSON or OAuth 2 form)', body: tokenBody, response: { 200: tokenResponse } },
    handler: async (request, reply) => {
      const creditorId = await service.verifyClient(request.body.client_id, request.body.client_secret);
      reply.header('cache-control', 'no-store');
      return { access_token: app.signCreditorToken(creditorId, request.body.client_id), token_type: 'Bearer' as const, expires_in: ACCESS_TOKEN_TTL_SECONDS };
    },
  });

  api.get('/api/v1/profile', {
    onRequest: creditor.onRequest,
    schema: { tags: ['profile'], summary: 'The creditor profile shown to debtors', security: creditor.security, response: { 200: profileResponse } },
    handler: async (request) => service.getProfile(request.creditorId),
  });

  api.put('/api/v1/profile', {
    onRequest: creditor.onRequest,
    schema: { tags: ['profile'], summary: 'Replace the creditor profile', security: creditor.security, body: profileBody, response: { 200: profileResponse } },
    handler: async (request) => service.updateProfile(request.creditorId, request.body),
  });

  api.get('/api/v1/credentials', {
    onRequest: creditor.onRequest,
    schema: { tags: ['credentials'], summary: 'List credentials, newest first (without secrets)', security: creditor.security, querystring: credentialListQuery, response: { 200: credentialListResponse } },
    handler: async (request) => service.listCredentials(request.creditorId, request.query),
  });

  api.post('/api/v1/credentials', {
    onRequest: creditor.onRequest,
    preHandler: [byCreditor],
    schema: { tags: ['credentials'], summary: 'Create another credential; the secret is shown only here', security: creditor.security, body: noBody, response: { 201: credentialsResponse } },
    handler: async (request, reply) => reply.code(201).send(await service.addCredential(request.creditorId)),
  });

  api.delete('/api/v1/credentials/:client_id', {
    onRequest: creditor.onRequest,
    schema: { tags: ['credentials'], summary: 'Revoke a credential (not the last one)', security: creditor.security, params: z.object({ client_id: z.string().max(200) }), response: { 204: z.null() } },
    handler: async (request, reply) => {
      await service.revokeCredential(request.creditorId, request.params.client_id);
      return reply.code(204).send(null);
    },
  });
}
