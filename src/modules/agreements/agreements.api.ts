import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errors } from '../../lib/errors.js';
import { agreementListQuery, agreementListResponse, agreementParams, agreementResponse } from './agreements.schemas.js';
import { createAgreementService } from './agreements.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function agreementsApi(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock } = app.deps;
  const service = createAgreementService({ db: database.db, clock });
  const security = [{ bearer: [] }];
  const byCreditor = app.idempotent((request) => `creditor:${request.creditorId}`);
  /** An id that is not a UUID names no agreement: 404, like another creditor's. */
  const agreementId = (id: string) => {
    if (!UUID.test(id)) throw errors.notFound('Agreement');
    return id.toLowerCase();
  };

  // Authenticated on request, before the input is validated: without a token, 401 comes before any 422.
  api.get('/api/v1/agreements', {
    onRequest: [app.authenticateCreditor],
    schema: { tags: ['agreements'], summary: 'List agreements, newest first', security, querystring: agreementListQuery, response: { 200: agreementListResponse } },
    handler: async (request) => service.list(request.creditorId, request.query),
  });

  api.get('/api/v1/agreements/:id', {
    onRequest: [app.authenticateCreditor],
    schema: { tags: ['agreements'], summary: 'One agreement with its parcels', security, params: agreementParams, response: { 200: agreementResponse } },
    handler: async (request) => service.get(request.creditorId, agreementId(request.params.id)),
  });

  api.post('/api/v1/agreements/:id/cancel', {
    onRequest: [app.authenticateCreditor],
    preHandler: [byCreditor],
    schema: {
      tags: ['agreements'],
      summary: 'Cancel a pending agreement; its debts go back to open (409 once the debtor has paid or is paying)',
      security,
      params: agreementParams,
      response: { 200: agreementResponse },
    },
    handler: async (request) => service.cancel(request.creditorId, agreementId(request.params.id)),
  });
}
