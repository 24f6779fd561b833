import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { policyBodyDoc, policyResponse, simulateBodyDoc, simulateResponse, type SimulateInput } from './negotiation.schemas.js';
import { createNegotiationService } from './negotiation.service.js';

// The policy bounds depend on the creditor, so these bodies are checked after
// authentication, by the service, with the same 422 shape as route validation. The route
// schema (the widest bounds) is kept for the OpenAPI document only.
const checkedByTheService = () => (data: unknown) => ({ value: data });

export async function negotiationApi(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock, config } = app.deps;
  const service = createNegotiationService({ db: database.db, clock, tzBusiness: config.tzBusiness });
  // Authenticated on request, before the body is even parsed: without a token, 401 comes first.
  const creditor = { onRequest: [app.authenticateCreditor], security: [{ bearer: [] }] };
  const byCreditor = app.idempotent((request) => `creditor:${request.creditorId}`);

  api.get('/api/v1/policy', {
    onRequest: creditor.onRequest,
    schema: { tags: ['policy'], summary: 'The current policy and its version (0: the defaults)', security: creditor.security, response: { 200: policyResponse } },
    handler: async (request) => service.currentPolicy(request.creditorId),
  });

  api.put('/api/v1/policy', {
    onRequest: creditor.onRequest,
    validatorCompiler: checkedByTheService,
    schema: { tags: ['policy'], summary: 'Replace the whole policy; each PUT makes a new immutable version', security: creditor.security, body: policyBodyDoc, response: { 200: policyResponse } },
    handler: async (request) => service.replacePolicy(request.creditorId, request.body as unknown),
  });

  // Checked before the Idempotency-Key is claimed, as route validation would be.
  const simulations = new WeakMap<FastifyRequest, SimulateInput>();
  const checkSimulation = async (request: FastifyRequest) => {
    simulations.set(request, await service.parseSimulation(request.creditorId, request.body));
  };

  api.post('/api/v1/simulate', {
    onRequest: creditor.onRequest,
    preHandler: [checkSimulation, byCreditor],
    validatorCompiler: checkedByTheService,
    schema: { tags: ['policy'], summary: 'The offers for some debts on a given or the current policy (a what-if: no prescription)', security: creditor.security, body: simulateBodyDoc, response: { 200: simulateResponse } },
    handler: async (request) => {
      const input = simulations.get(request);
      if (!input) throw new Error('simulate body not checked');
      return service.simulate(request.creditorId, input);
    },
  });
}
