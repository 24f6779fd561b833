import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errors } from '../../lib/errors.js';
import { cpfField } from '../../lib/zod-fields.js';
import { createLinkService, DEFAULT_LINK_TTL_HOURS, linkTokenFor, linkUrl } from './links.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Stands for the token in what the handler sends, and so in what idempotency stores. */
const TOKEN_PLACEHOLDER = '{link-token}';

const createLinkBody = z.strictObject({
  cpf: cpfField.describe('formatted or 11 digits'),
  ttl_hours: z.number().int().min(1).max(8760).default(DEFAULT_LINK_TTL_HOURS).describe('1–8760, default 720 (30 days)'),
});
const linkResponse = z.object({ id: z.string(), url: z.string(), expires_at: z.string() });

export async function linksApi(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock, config } = app.deps;
  const service = createLinkService({ db: database.db, clock, secretKey: config.secretKey, tz: config.tzBusiness });
  const security = [{ bearer: [] }];

  // Authenticated on request, before the input is validated: without a token, 401 comes before any 422.
  api.post('/api/v1/links', {
    onRequest: [app.authenticateCreditor],
    preHandler: [app.idempotent((request) => `creditor:${request.creditorId}`)],
    // Runs after the idempotency hook has stored the reply: the token is put in only now,
    // on the first answer and on every replay alike, and is never stored.
    onSend: async (_request, _reply, payload) => {
      if (typeof payload !== 'string' || !payload.includes(TOKEN_PLACEHOLDER)) return payload;
      const body = JSON.parse(payload) as { id: string; url: string };
      return JSON.stringify({ ...body, url: body.url.replace(TOKEN_PLACEHOLDER, linkTokenFor(config.secretKey, body.id)) });
    },
    schema: {
      tags: ['links'],
      summary: 'Make a debtor link; 404 when this creditor has no open debt or live agreement for the CPF',
      security,
      body: createLinkBody,
      response: { 201: linkResponse },
    },
    handler: async (request, reply) => {
      const link = await service.create(request.creditorId, request.body.cpf, request.body.ttl_hours);
      return reply.code(201).send({ id: link.id, url: linkUrl(config.publicUrl, TOKEN_PLACEHOLDER), expires_at: link.expiresAt.toISOString() });
    },
  });

  api.delete('/api/v1/links/:id', {
    onRequest: [app.authenticateCreditor],
    schema: { tags: ['links'], summary: 'Revoke a debtor link (its sessions end)', security, params: z.object({ id: z.string().max(100) }), response: { 204: z.null() } },
    handler: async (request, reply) => {
      if (!UUID.test(request.params.id)) throw errors.notFound('Link');
      await service.revoke(request.creditorId, request.params.id.toLowerCase());
      return reply.code(204).send(null);
    },
  });
}
